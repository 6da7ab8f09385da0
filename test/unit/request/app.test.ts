// Handler tests of every branch of the request flow, through Elysia's
// app.handle, with the instances (and another host's dispatcher) mocked by msw.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { resolveSettings } from "../../../src/config/settings";
import type { Instance } from "../../../src/config/table";
import { DispatchError, Invalid } from "../../../src/lib/errors";
import { memoryLogger } from "../../../src/lib/log";
import { createApp } from "../../../src/request/app";
import { door } from "../../../src/request/door/door";
import { Metrics } from "../../../src/request/metrics";
import { peerProof } from "../../../src/request/proof/proof";
import { routeOf } from "../../../src/request/route";
import { SessionCache } from "../../../src/request/session/cache";
import { CookieNames } from "../../../src/request/session/cookie-names";
import { OwnerBinding } from "../../../src/request/session/owner";
import { bunRuntime } from "../../../src/runtime/bun/runtime";
import { handlersFor, type MockInstance, mockInstance } from "../../fixtures/msw-t3";

const instances = {
  old: mockInstance(5024, "0.0.24"),
  mid: mockInstance(5025, "0.0.25"),
  new: mockInstance(5033, "0.0.33"),
};
const table = new Map<string, Instance>(
  Object.entries(instances).map(([user, i]) => [user, { user, osUser: `os${user}`, port: i.port }]),
);
// Two users whose instances other hosts own: b's dispatcher answers, c's is down.
const HOST_B = "https://b.fleet.test:3790";
table.set("far", { user: "far", osUser: "osfar", port: 5024, host: "b" });
table.set("gone", { user: "gone", osUser: "osgone", port: 5024, host: "c" });
/** What b's dispatcher was sent: each request's path and headers. */
const forwardedToB: Array<{ path: string; headers: Headers }> = [];
const hostB = http.all(`${HOST_B}/*`, ({ request }) => {
  forwardedToB.push({ path: new URL(request.url).pathname, headers: request.headers });
  return new HttpResponse("b's answer", { status: 201, headers: { "set-cookie": "t3_session_5024=b; Path=/" } });
});
const hostC = http.all("https://c.fleet.test:3790/*", () => HttpResponse.error());
const server = setupServer(...Object.values(instances).flatMap(handlersFor), hostB, hostC);
const resolved = resolveSettings({ flags: { sessionTimeout: "300ms", sessionCacheTtl: "0", pairAttempts: "1000" } });
if (resolved instanceof Invalid) throw new Error(resolved.detail);

let mintBehaviour: "ok" | "fail" = "ok";
const minted: string[] = [];
const log = memoryLogger();
const metrics = new Metrics();
const runtime = {
  fetchUpstream: bunRuntime.fetchUpstream,
  peerAddress: () => undefined,
  bridgeWebSocket: async () => new DispatchError("upstream_down", "no WebSocket in handler tests"),
};
const apps = createApp({
  settings: resolved.settings,
  // Handler tests exercise everything after the proof: the peer proof with every peer trusted.
  proof: peerProof(() => true, "X-authentik-username", true),
  routing: {
    route(identity) {
      if (identity.local === "boom") throw new Error("a bug in a stage");
      return routeOf(table, identity, []);
    },
  },
  instances: undefined, // msw's instances hold no real port
  lifecycle: undefined, // nor does anything start them
  cookieNames: new CookieNames(),
  sessions: new SessionCache(0),
  owners: new OwnerBinding(Buffer.alloc(32, 7)),
  async mint(osUser) {
    minted.push(osUser);
    if (mintBehaviour === "fail") return new DispatchError("mint_failed", "exit 1");
    const instance = (instances as Record<string, MockInstance>)[osUser.slice("os".length)];
    const credential = `cred-${minted.length}`;
    instance?.credentials.add(credential);
    return credential;
  },
  runtime,
  openSockets: new Set(),
  metrics,
  log,
  door: door({
    hosts: new Map([
      ["b", HOST_B],
      ["c", "https://c.fleet.test:3790"],
    ]),
    tls: { ca: "(msw answers before any handshake)" },
    connectTimeoutMs: 1000,
    runtime,
    openSockets: new Set(),
    metrics,
    log,
  }),
});
const app = apps.main;

const request = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  app.handle(new Request(`http://localhost${path}`, { ...init, headers }));
const navigate = (path: string, headers: Record<string, string> = {}) =>
  request(path, { "sec-fetch-dest": "document", ...headers });

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  mintBehaviour = "ok";
  minted.length = 0;
  log.lines.length = 0;
  forwardedToB.length = 0;
  for (const i of Object.values(instances)) i.calls.length = 0;
});
afterAll(() => server.close());

/** Pairs `user` and returns the Cookie header the browser would now send. */
async function pairAs(user: string): Promise<string> {
  const response = await navigate("/", { "x-authentik-username": `${user}@example.com` });
  expect(response.status).toBe(302);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

describe("identity", () => {
  test("/healthz answers ok without identity", async () => {
    const response = await request("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  test("no header: 403 JSON with a clear message and a request id, one log line", async () => {
    const response = await request("/");
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: string; message: string; request_id: string };
    expect(body.error).toBe("no_identity");
    expect(body.message).toContain("X-authentik-username header is missing");
    expect(body.request_id).toBe(response.headers.get("x-request-id") ?? "?");
    // The error once, then the access-log line.
    expect(log.lines.map((l) => l.event)).toEqual(["no_identity", "request"]);
  });

  test("unknown user on a navigation: a friendly 403 page with the request id", async () => {
    const response = await navigate("/", { "x-authentik-username": "mallory@example.com", "x-request-id": "req-42" });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("No workspace for you here yet");
    expect(page).toContain("req-42");
    expect(minted).toEqual([]);
  });

  test("an invalid name is refused before any lookup or mint", async () => {
    const response = await navigate("/", { "x-authentik-username": "-rf;id@example.com" });
    expect(response.status).toBe(403);
    expect(minted).toEqual([]);
  });
});

describe("pairing without a cookie", () => {
  test.each([
    ["old", "0.0.24", ["POST /api/auth/browser-session", "POST /api/auth/bootstrap"]],
    ["mid", "0.0.25", ["POST /api/auth/browser-session"]],
    ["new", "0.0.33", ["POST /api/auth/browser-session"]],
  ])(
    "%s (%s): mint, exchange, relay Set-Cookie plus the owner cookie, 302 to the deep link",
    async (user, _v, calls) => {
      const response = await navigate("/some/page?x=1", { "x-authentik-username": user });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/some/page?x=1");
      const cookies = response.headers.getSetCookie();
      expect(cookies).toHaveLength(2);
      expect(cookies[0]).toStartWith(`${instances[user as keyof typeof instances].cookieName}=tok-`);
      expect(cookies[0]).toContain("HttpOnly");
      expect(cookies[1]).toStartWith(`t3d_owner=${user}.`);
      expect(minted).toEqual([`os${user}`]);
      expect(instances[user as keyof typeof instances].calls).toEqual(calls);
    },
  );

  test("the working pairing endpoint is remembered: a 0.0.24 instance gets no second 404 probe", async () => {
    await pairAs("old");
    instances.old.calls.length = 0;
    await navigate("/", { "x-authentik-username": "old" });
    expect(instances.old.calls).toEqual(["POST /api/auth/bootstrap"]);
  });

  test.each([
    ["an XHR", { "sec-fetch-dest": "empty" }],
    ["a fetch without Sec-Fetch-Dest", { accept: "application/json" }],
    ["a WebSocket upgrade", { upgrade: "websocket", connection: "Upgrade", "sec-fetch-dest": "websocket" }],
  ])("%s without a session: 401 JSON, never a 302, nothing minted", async (_name, headers) => {
    const response = await request("/api/x", { "x-authentik-username": "mid", ...headers });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("no_session");
    expect(minted).toEqual([]);
  });

  test("deep links cannot leave the origin", async () => {
    for (const path of ["//evil.example/x", "/\\evil.example", "/pair"]) {
      const response = await navigate(path, { "x-authentik-username": "mid" });
      expect(response.headers.get("location")).toBe("/");
    }
  });

  test("mint failure: 500 'pairing mint failed', one error log line", async () => {
    mintBehaviour = "fail";
    const response = await request("/", { "x-authentik-username": "mid", accept: "text/html" });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("pairing mint failed");
    expect(log.lines.filter((l) => l.level === "error").map((l) => l.event)).toEqual(["mint_failed"]);
  });

  test("exchange rejected (401): 502", async () => {
    server.use(
      http.post("http://127.0.0.1:5025/api/auth/browser-session", () => HttpResponse.json({}, { status: 401 })),
    );
    const response = await navigate("/", { "x-authentik-username": "mid" });
    expect(response.status).toBe(502);
    expect(await response.text()).toContain("pairing exchange rejected by the t3 instance");
  });

  test("exchange unreachable: 502", async () => {
    server.use(http.post("http://127.0.0.1:5025/api/auth/browser-session", () => HttpResponse.error()));
    const response = await navigate("/", { "x-authentik-username": "mid" });
    expect(response.status).toBe(502);
    expect(await response.text()).toContain("did not answer");
  });
});

describe("a cookie present", () => {
  test("a live cookie on a document navigation is checked, then proxied", async () => {
    const cookie = await pairAs("new");
    instances.new.calls.length = 0;
    const response = await navigate("/", { "x-authentik-username": "new", cookie });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("app of 5033");
    expect(instances.new.calls).toEqual(["GET /api/auth/session", "GET /"]);
  });

  test("a dead cookie on a document navigation re-pairs", async () => {
    const cookie = await pairAs("mid");
    instances.mid.sessions.clear(); // the auth-schema rollback of 2026-06-09
    minted.length = 0;
    const response = await request("/", { "x-authentik-username": "mid", cookie, accept: "text/html" });
    expect(response.status).toBe(302);
    expect(minted).toEqual(["osmid"]);
    expect(response.headers.getSetCookie()[0]).toStartWith("t3_session=tok-");
  });

  test.each([
    ["an XHR", { "sec-fetch-dest": "empty", accept: "text/html" }],
    ["an asset", { "sec-fetch-dest": "script" }],
    ["a fetch without Sec-Fetch-Dest", { accept: "application/json" }],
  ])("a dead cookie on %s is proxied, never answered with 302", async (_name, headers) => {
    const cookie = await pairAs("mid");
    instances.mid.sessions.clear();
    instances.mid.calls.length = 0;
    const response = await request("/x", { "x-authentik-username": "mid", cookie, ...headers });
    expect(response.status).toBe(200);
    expect(instances.mid.calls).toEqual(["GET /x"]);
  });

  test("a WebSocket upgrade with a dead cookie is a 401, never a 302", async () => {
    const cookie = await pairAs("mid");
    instances.mid.sessions.clear();
    const response = await request("/ws", {
      "x-authentik-username": "mid",
      cookie,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-fetch-dest": "websocket",
    });
    expect(response.status).toBe(401);
  });

  test("another person's cookie (same browser, new login) is not forwarded: the new user pairs afresh", async () => {
    const aliceCookies = await pairAs("mid");
    // The owner binding names mid; an identity of "old" must not use mid's session.
    const response = await navigate("/", { "x-authentik-username": "old", cookie: aliceCookies });
    expect(response.status).toBe(302);
    expect(minted.at(-1)).toBe("osold");
    expect(instances.old.calls.some((c) => c.startsWith("GET"))).toBe(false);
  });

  test("a session cookie without its owner cookie is not trusted", async () => {
    const cookies = await pairAs("mid");
    const sessionOnly = cookies.split("; ").filter((c) => !c.startsWith("t3d_owner="))[0] ?? "";
    const response = await request("/x", { "x-authentik-username": "mid", cookie: sessionOnly });
    expect(response.status).toBe(401);
  });

  test.each([
    ["errors", () => HttpResponse.error()],
    ["answers 500", () => new HttpResponse(null, { status: 500 })],
    ["hangs past the timeout", () => new Promise<Response>(() => {})],
  ])("a session check that %s fails open and proxies", async (_name, resolver) => {
    const cookie = await pairAs("mid");
    server.use(http.get("http://127.0.0.1:5025/api/auth/session", resolver));
    const response = await navigate("/", { "x-authentik-username": "mid", cookie });
    expect(response.status).toBe(200);
    expect(log.lines.map((l) => l.event)).toContain("session_check_failed_open");
  });

  test("0.0.33: once learned, a stale t3_session does not count as a session", async () => {
    const cookie = await pairAs("new");
    minted.length = 0;
    const stale = cookie.replace(/^t3_session_\d+_[0-9a-f]+=/, "t3_session=");
    const response = await navigate("/x", { "x-authentik-username": "new", cookie: stale });
    expect(response.status).toBe(302);
    expect(minted).toEqual(["osnew"]);
  });

  test("upstream down: 502, not 500", async () => {
    const cookie = await pairAs("mid");
    server.use(http.get("http://127.0.0.1:5025/x", () => HttpResponse.error()));
    const response = await request("/x", { "x-authentik-username": "mid", cookie });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { message: string }).message).toBe("the t3 instance is not reachable");
  });
});

describe("a bug", () => {
  test("a stage that throws: one internal error line with the request id, a 500 naming it", async () => {
    const response = await request("/", { "x-authentik-username": "boom", "x-request-id": "r-crash" });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: "internal", request_id: "r-crash" });
    const lines = log.lines.filter((l) => l.event === "internal");
    expect(lines.map((l) => [l.request_id, String(l.detail).includes("a bug in a stage")])).toEqual([
      ["r-crash", true],
    ]);
  });
});

describe("another host's instance", () => {
  const token = { "x-authentik-username": "far", "x-authentik-jwt": "the front's token" };

  test("the door forwards it to its host as it came: token, identity, cookies, request id; the answer comes back", async () => {
    const response = await navigate("/deep?x=1", {
      ...token,
      cookie: "t3_session_5024=s; t3d_owner=far.mac; authentik_session=a",
      "x-request-id": "door-1",
      host: "t3.example.com",
    });
    expect([response.status, await response.text()]).toEqual([201, "b's answer"]);
    expect(response.headers.get("set-cookie")).toBe("t3_session_5024=b; Path=/");
    expect(forwardedToB.map((f) => f.path)).toEqual(["/deep"]);
    const sent = forwardedToB[0]?.headers;
    expect(sent?.get("x-authentik-jwt")).toBe("the front's token");
    expect(sent?.get("x-authentik-username")).toBe("far");
    expect(sent?.get("cookie")).toBe("t3_session_5024=s; t3d_owner=far.mac; authentik_session=a");
    expect(sent?.get("x-request-id")).toBe("door-1");
    expect(sent?.get("x-forwarded-host")).toBe("t3.example.com"); // the owner's origin check sees the public host
    expect(minted).toEqual([]); // the owner pairs, never the door
    expect(metrics.fleetRequests.get("b")).toBeGreaterThan(0);
  });

  test("its host's dispatcher down: the 'not answering' page, naming no host; the log names it", async () => {
    const response = await navigate("/", { "x-authentik-username": "gone" });
    expect(response.status).toBe(502);
    const page = await response.text();
    expect(page).toContain("Your workspace is not answering");
    expect(page).not.toContain("fleet.test");
    expect(log.lines.find((l) => l.event === "host_down")?.host).toBe("c");
    expect(metrics.fleetErrors.get("c")).toBe(1);
  });

  test("a person of this host is unaffected by another host being down", async () => {
    await navigate("/", { "x-authentik-username": "gone" });
    expect((await navigate("/", { "x-authentik-username": "new@example.com" })).status).toBe(302);
  });

  test("the fleet listener's app never forwards again: another host's instance there is wrong_host", async () => {
    const fleet = apps.fleet();
    const response = await fleet.handle(
      new Request("https://a.fleet.test/", { headers: { ...token, "sec-fetch-dest": "document" } }),
    );
    expect(response.status).toBe(502);
    expect(await response.text()).toContain("Your workspace is moving");
    expect(forwardedToB).toEqual([]);
    // This host's own people are served on it as on the front's listener.
    const own = await fleet.handle(
      new Request("https://a.fleet.test/", {
        headers: { "x-authentik-username": "new@example.com", "sec-fetch-dest": "document" },
      }),
    );
    expect(own.status).toBe(302);
  });
});
