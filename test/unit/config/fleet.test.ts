import { describe, expect, test } from "bun:test";
import { parseFleetHosts } from "../../../src/config/fleet";
import { resolveSettings } from "../../../src/config/settings";
import { Failure, Invalid } from "../../../src/lib/errors";

const FLEET = {
  hostName: "a",
  fleetHosts: "a=https://198.18.0.1:3790, b=https://198.18.0.2:3790/",
  fleetListen: "198.18.0.1:3790",
  fleetCertFile: "/etc/t3-dispatch/fleet.crt",
  fleetKeyFile: "/etc/t3-dispatch/fleet.key",
  fleetCaFile: "/etc/t3-dispatch/fleet-ca.crt",
};

const problemsOf = (file: Record<string, string>): readonly string[] => {
  const result = resolveSettings({ file });
  return result instanceof Invalid ? result.problems : [];
};

describe("fleet settings", () => {
  test("fleetHosts: names to https origins, in the operator's order", () => {
    const hosts = parseFleetHosts(FLEET.fleetHosts);
    expect(hosts instanceof Failure ? hosts.detail : [...hosts]).toEqual([
      ["a", "https://198.18.0.1:3790"],
      ["b", "https://198.18.0.2:3790"],
    ]);
    expect(parseFleetHosts("")).toEqual(new Map());
  });

  test("fleetHosts: plain http, a path, credentials, a bad or repeated name are each refused with the item", () => {
    for (const [text, why] of [
      ["a=http://198.18.0.1:3790", "https only"],
      ["a=https://198.18.0.1:3790/t3", "no path"],
      ["a=https://u:p@198.18.0.1:3790", "no path, query or credentials"],
      ["A_1=https://198.18.0.1:3790", "DNS label"],
      ["a=https://198.18.0.1:1,a=https://198.18.0.2:1", "named twice"],
      ["a", "not a URL"],
    ] as const) {
      const parsed = parseFleetHosts(text);
      expect(parsed instanceof Failure ? parsed.detail : "parsed").toContain(why);
    }
  });

  test("a whole fleet's settings resolve, mutual TLS on by default", () => {
    const result = resolveSettings({ file: { ...FLEET, jwtSecretFile: "/etc/t3-dispatch/jwt" } });
    if (result instanceof Invalid) throw new Error(result.detail);
    expect(result.settings.fleet.self).toBe("a");
    expect(result.settings.fleet.listen).toEqual({ kind: "tcp", hostname: "198.18.0.1", port: 3790 });
    expect(result.settings.fleet.mutualTls).toBe(true);
  });

  test("forwarding or serving a fleet without the signed-token proof is refused, saying why", () => {
    const problems = problemsOf({ ...FLEET, identityProof: "secret" });
    expect(problems.join("\n")).toContain(
      "identityProof secret: a fleet (fleetHosts, fleetListen) needs identityProof jwt",
    );
  });

  test("no CA, no certificate, a hostName not in fleetHosts: each named", () => {
    const problems = problemsOf({ ...FLEET, hostName: "c", fleetCaFile: "", fleetCertFile: "" }).join("\n");
    expect(problems).toContain("hostName c is not one of fleetHosts (a, b)");
    expect(problems).toContain("fleetCaFile is empty");
    expect(problems).toContain("fleetCertFile and fleetKeyFile are needed: the fleet listener serves them");
  });

  test("a door without a listener of its own needs its certificate only for mutual TLS", () => {
    const door = { ...FLEET, hostName: "", fleetListen: "off", fleetCertFile: "", fleetKeyFile: "" };
    expect(problemsOf(door).join("\n")).toContain("with fleetMutualTls on, a door presents them");
    expect(problemsOf({ ...door, fleetMutualTls: "off" })).toEqual([]);
  });

  test("a bad fleetHosts or fleetListen is named as the operator wrote it", () => {
    const problems = problemsOf({ ...FLEET, fleetHosts: "a=http://x:1", fleetListen: "nowhere" }).join("\n");
    expect(problems).toContain('fleetHosts = "a=http://x:1"');
    expect(problems).toContain('fleetListen = "nowhere"');
    expect(problemsOf({ ...FLEET, hostName: "Node_2" }).join("\n")).toContain('hostName = "Node_2"');
  });
});
