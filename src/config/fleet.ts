// The fleet: which host this is, where every host's dispatcher answers, and
// the TLS between them. The same settings go to every host; a table entry's
// `host` picks the dispatcher that owns the instance. What the combination
// must satisfy is checked here once, for `serve` and `check` alike.
import { Failure } from "../lib/errors";
import type { ListenAddress } from "./setting-values";
import { list } from "./setting-values";

/** A host's name in the table and in fleetHosts: one lower-case DNS label. */
export const HOST_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
const hostName = new RegExp(HOST_NAME_PATTERN);

export interface FleetSettings {
  /** This host's name ("": a door with no instances of its own, or no fleet). */
  self: string;
  /** Each host's name → its dispatcher's fleet origin (`https://198.18.0.2:3790`). */
  hosts: ReadonlyMap<string, string>;
  /** The fleet listener (TLS), where other doors forward this host's people; undefined: off. */
  listen: ListenAddress | undefined;
  /** This host's certificate and key (PEM files): the fleet listener's, and the door's client certificate. */
  certFile: string;
  keyFile: string;
  /** The operator's CA (PEM file): the only one a dispatcher believes for another. */
  caFile: string;
  /** The fleet listener asks for a client certificate from that CA, and doors present theirs. */
  mutualTls: boolean;
}

/** `fleetHosts` (`a=https://198.18.0.1:3790, b=https://…`) as names to origins, or why not. */
export function parseFleetHosts(text: string): ReadonlyMap<string, string> | Failure<"bad_fleet_hosts"> {
  const hosts = new Map<string, string>();
  for (const item of list(text)) {
    const [name = "", url = ""] = item.split(/=(.*)/s).map((part) => part.trim());
    const bad = (why: string) => new Failure("bad_fleet_hosts", `${JSON.stringify(item)}: ${why}`);
    if (!hostName.test(name)) return bad("expected name=https://host:port, the name a lower-case DNS label");
    if (hosts.has(name)) return bad(`${name} is named twice`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return bad("not a URL");
    }
    if (parsed.protocol !== "https:") return bad("dispatchers reach each other over https only");
    if (parsed.pathname !== "/" || parsed.search !== "" || parsed.username !== "") {
      return bad("expected https://host:port, no path, query or credentials");
    }
    hosts.set(name, parsed.origin);
  }
  return hosts;
}

/** The other hosts a door forwards to. */
export const otherHosts = (fleet: FleetSettings): string[] => [...fleet.hosts.keys()].filter((h) => h !== fleet.self);

/**
 * What the fleet settings need of each other and of the proof: every problem.
 * A forwarded request is proven by the front's signed token, which the owner
 * verifies itself: a shared secret or a peer address proves nothing across hosts.
 */
export function fleetProblems(fleet: FleetSettings, proofMode: string): string[] {
  const problems: string[] = [];
  const names = [...fleet.hosts.keys()].join(", ");
  if (fleet.self !== "" && !fleet.hosts.has(fleet.self)) {
    problems.push(`hostName ${fleet.self} is not one of fleetHosts (${names || "none"})`);
  }
  const forwards = otherHosts(fleet).length > 0;
  const serves = fleet.listen !== undefined;
  if ((forwards || serves) && proofMode !== "jwt") {
    problems.push(
      `identityProof ${proofMode}: a fleet (fleetHosts, fleetListen) needs identityProof jwt, ` +
        "since each host verifies the front's signed token itself and a secret or a peer address proves nothing across hosts",
    );
  }
  if ((forwards || serves) && fleet.caFile === "") {
    problems.push("fleetCaFile is empty: dispatchers believe each other only through the operator's CA");
  }
  const presents = serves || (forwards && fleet.mutualTls);
  if (presents && (fleet.certFile === "" || fleet.keyFile === "")) {
    problems.push(
      `fleetCertFile and fleetKeyFile are needed: ${serves ? "the fleet listener serves them" : "with fleetMutualTls on, a door presents them"}`,
    );
  }
  if (fleet.listen?.kind === "unix") problems.push("fleetListen must be host:port (other hosts reach it over TCP)");
  return problems;
}
