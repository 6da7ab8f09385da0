// The session stage on its own: the cache's hit path, its /pair bypass, the
// answers an instance restart or a refused upgrade must forget, and the
// cache's own bounds. The instance's word is a function the test sets.
import { describe, expect, test } from "bun:test";
import type { Instance } from "../../../../src/config/table";
import { DispatchError } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { Start } from "../../../../src/request/lifecycle/start";
import { Metrics } from "../../../../src/request/metrics";
import { Paired } from "../../../../src/request/pairing/pairing";
import { SessionCache } from "../../../../src/request/session/cache";
import { CookieNames } from "../../../../src/request/session/cookie-names";
import { type Asking, sessionGate } from "../../../../src/request/session/gate";
import { OWNER_COOKIE, OwnerBinding } from "../../../../src/request/session/owner";
import type { SessionState } from "../../../../src/t3/client";

const instance: Instance = { user: "alice", osUser: "alice", port: 4100 };
const owners = new OwnerBinding(Buffer.alloc(32, 3));
const COOKIE = `t3_session=v1; ${OWNER_COOKIE}=${owners.sign("alice", "v1")}`;

/** A gate whose instance answers `word`; counts what it asked, paired and undid. */
function gateWith(initial: SessionState["state"], ttlMs = 60_000) {
  let word = initial;
  const sessions = new SessionCache(ttlMs);
  const asked: string[] = [];
  const undone: string[] = [];
  const ahead: string[] = [];
  let pairings = 0;
  const paired = new Paired([], "t3_session", "v2");
  const gate = sessionGate({
    cookieNames: new CookieNames(),
    sessions,
    owners,
    pairing: {
      pair: async () => {
        pairings++;
        return paired;
      },
      undone: (_user, value) => void undone.push(value),
      mintAhead: (instance) => void ahead.push(`mint ${instance.user}`),
      dropAhead: (user) => void ahead.push(`drop ${user}`),
    },
    async check(_instance, cookie) {
      asked.push(cookie);
      return word === "unknown" ? { state: "unknown", reason: "timeout" } : { state: word, cookieName: "t3_session" };
    },
    metrics: new Metrics(),
    log: memoryLogger(),
  });
  const ask = (path: string, kind: "html" | "upgrade" | "xhr", cookie = COOKIE): Asking => {
    const url = new URL(`http://t3.example${path}`);
    return {
      request: new Request(url.href, { headers: { cookie } }),
      record: { id: "r1", started: 0, peer: undefined, url, html: kind === "html", upgrade: kind === "upgrade" },
      instance,
    };
  };
  const answer = (state: SessionState["state"]) => {
    word = state;
  };
  return { gate, sessions, asked, undone, ahead, pairings: () => pairings, ask, answer };
}

describe("minting ahead during a start", () => {
  test("a navigation without a session of its own mints ahead; the credential is dropped if the start fails", () => {
    const { gate, ahead, ask } = gateWith("valid");
    const start = new Start(instance, "r-1");
    gate.ahead(ask("/", "html", "").request, start);
    expect(ahead).toEqual(["mint alice"]);
    start.end("failed");
    expect(ahead).toEqual(["mint alice", "drop alice"]);
  });

  test("one with its own bound session mints nothing (it will not pair); a ready start drops nothing", () => {
    const { gate, ahead, ask } = gateWith("valid");
    const start = new Start(instance, "r-1");
    gate.ahead(ask("/", "html").request, start);
    const stranger = `t3_session=v1; ${OWNER_COOKIE}=${owners.sign("bob", "v1")}`; // bound to someone else
    gate.ahead(ask("/", "html", stranger).request, start);
    start.end("ready");
    expect(ahead).toEqual(["mint alice"]);
  });
});

describe("session gate and its cache", () => {
  test("a valid answer is cached: the next navigation and upgrade are not asked again", async () => {
    const { gate, asked, ask } = gateWith("valid");
    expect(await gate.decide(ask("/", "html"))).toEqual({ proxy: "t3_session" });
    expect(gate.decide(ask("/", "html"))).toEqual({ proxy: "t3_session" }); // synchronous: the hit path
    expect(gate.decide(ask("/ws", "upgrade"))).toEqual({ proxy: "t3_session" });
    expect(asked).toEqual(["t3_session=v1"]);
  });

  test("/pair is always asked, whatever is cached (t3 sends a dead session there)", async () => {
    const { gate, asked, ask } = gateWith("valid");
    await gate.decide(ask("/", "html"));
    await gate.decide(ask("/pair", "html"));
    await gate.decide(ask("/pair", "html"));
    expect(asked.length).toBe(3);
  });

  test("without a TTL nothing is cached", async () => {
    const { gate, asked, ask } = gateWith("valid", 0);
    await gate.decide(ask("/", "html"));
    await gate.decide(ask("/", "html"));
    expect(asked.length).toBe(2);
  });

  test("after forgetInstance (seen down or restarted) the instance is asked again", async () => {
    const { gate, sessions, asked, pairings, ask } = gateWith("valid");
    await gate.decide(ask("/", "html"));
    sessions.forgetInstance(instance.port);
    expect(gate.decide(ask("/", "html"))).toBeInstanceOf(Promise);
    expect(asked.length).toBe(2);
    expect(pairings()).toBe(0);
  });

  test("an XHR with a bound cookie is never asked; without one it is a 401, never a pairing", async () => {
    const { gate, asked, pairings, ask } = gateWith("invalid");
    expect(gate.decide(ask("/api/x", "xhr"))).toEqual({ proxy: "t3_session" });
    const refused = gate.decide(ask("/api/x", "xhr", "t3_session=v1"));
    expect(refused instanceof DispatchError && refused.kind).toBe("no_session");
    expect([asked.length, pairings()]).toEqual([0, 0]);
  });

  test("an upgrade the instance refused on a cached answer: dropped session → 401, cache and pairing undone", async () => {
    const { gate, sessions, undone, asked, ask, answer } = gateWith("valid");
    await gate.decide(ask("/", "html"));
    expect(gate.decide(ask("/ws", "upgrade"))).toEqual({ proxy: "t3_session" }); // let through on the cache
    answer("invalid"); // the instance restarted without its sessions
    const refused = new DispatchError("upstream_down", "Expected 101 status code: 401");
    const explained = await gate.refusedUpgrade(ask("/ws", "upgrade").request, instance, refused);
    expect([explained.kind, explained.status]).toEqual(["no_session", 401]);
    expect([sessions.isValid(instance.port, "v1"), undone, asked.length]).toEqual([false, ["v1"], 2]);
  });

  test("an upgrade refused while the session is valid (or unanswered) keeps the bridge's error", async () => {
    const refused = new DispatchError("upstream_down", "connection refused");
    for (const word of ["valid", "unknown"] as const) {
      const { gate, ask } = gateWith(word);
      expect(await gate.refusedUpgrade(ask("/ws", "upgrade").request, instance, refused)).toBe(refused);
    }
  });
});
