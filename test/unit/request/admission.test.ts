// The stages before the session, in order: the first refusal ends the
// request, later stages are not asked, and the record learns whose request it
// is as soon as a stage knows.
import { describe, expect, test } from "bun:test";
import type { Instance } from "../../../src/config/table";
import { DispatchError } from "../../../src/lib/errors";
import { type AdmissionDeps, admit } from "../../../src/request/admission";
import { arrive } from "../../../src/request/arrival";
import type { Identity } from "../../../src/request/identity";
import { InstanceImpostor } from "../../../src/request/instance/check";

const alice: Instance = { user: "alice", osUser: "alice", port: 4100 };

/** Deps whose proof claims `claimed`; counts which later stages were asked. */
function stages(
  claimed: string | DispatchError | Promise<string | DispatchError>,
  overrides: Partial<AdmissionDeps> = {},
) {
  const asked: string[] = [];
  const deps: AdmissionDeps = {
    proof: { prove: () => claimed },
    routing: {
      route(identity: Identity) {
        asked.push(`route ${identity.full}`);
        return identity.local === "alice" ? alice : new DispatchError("not_provisioned", `no ${identity.full}`);
      },
    },
    instances: {
      check(instance) {
        asked.push(`instance ${instance.port}`);
        return undefined;
      },
    },
    publicOrigin: "https://t3.example",
    ...overrides,
  };
  return { deps, asked };
}

const navigation = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("https://t3.example/", { method, headers: { "sec-fetch-dest": "document", ...headers } });

describe("admission", () => {
  test("all five pass: the instance, synchronously, with its user on the record", () => {
    const { deps, asked } = stages("alice@example.com");
    const request = navigation();
    const record = arrive(request, undefined);
    expect(admit(deps, request, record)).toBe(alice);
    expect(record.user).toBe("alice");
    expect(asked).toEqual(["route alice@example.com", "instance 4100"]);
  });

  test("a refused proof ends it: no user, nothing routed", () => {
    const { deps, asked } = stages(new DispatchError("bad_proof", "forged"));
    const request = navigation();
    const record = arrive(request, undefined);
    expect((admit(deps, request, record) as DispatchError).kind).toBe("bad_proof");
    expect([record.user, asked]).toEqual([undefined, []]);
  });

  test("a proven name that is not a valid identity is bad_identity, nothing routed", () => {
    const { deps, asked } = stages("al ice");
    const request = navigation();
    expect((admit(deps, request, arrive(request, undefined)) as DispatchError).kind).toBe("bad_identity");
    expect(asked).toEqual([]);
  });

  test("no route: not_provisioned, with the full identity on the record, no instance asked", () => {
    const { deps, asked } = stages("bob@example.com");
    const request = navigation();
    const record = arrive(request, undefined);
    expect((admit(deps, request, record) as DispatchError).kind).toBe("not_provisioned");
    expect([record.user, asked]).toEqual(["bob@example.com", ["route bob@example.com"]]);
  });

  test("an impostor on the port is refused before the origin is judged", () => {
    const impostor = new InstanceImpostor({ user: "alice", osUser: "alice", port: 4100 }, 1001, 1000);
    const { deps } = stages("alice", { instances: { check: () => impostor } });
    // Cross-origin too: the instance check comes first.
    const request = navigation({ origin: "https://evil.example" }, "POST");
    const record = arrive(request, undefined);
    expect(admit(deps, request, record)).toBe(impostor);
    expect(record.user).toBe("alice");
  });

  test("a write from another origin is cross_origin; without Origin or from the public one it passes", () => {
    const { deps } = stages("alice");
    const post = (origin?: string) => {
      const request = navigation(origin ? { origin } : {}, "POST");
      return admit(deps, request, arrive(request, undefined));
    };
    expect((post("https://evil.example") as DispatchError).kind).toBe("cross_origin");
    expect(post("https://t3.example")).toBe(alice);
    expect(post()).toBe(alice);
  });

  test("instances not on this host are not checked", () => {
    const { deps, asked } = stages("alice", { instances: undefined });
    const request = navigation();
    expect(admit(deps, request, arrive(request, undefined))).toBe(alice);
    expect(asked).toEqual(["route alice"]);
  });

  test("a proof that must first verify a token: the same stages, after it settles", async () => {
    const { deps, asked } = stages(Promise.resolve("alice"));
    const request = navigation();
    const admitted = admit(deps, request, arrive(request, undefined));
    expect(admitted).toBeInstanceOf(Promise);
    expect(await admitted).toBe(alice);
    expect(asked).toEqual(["route alice", "instance 4100"]);
  });
});
