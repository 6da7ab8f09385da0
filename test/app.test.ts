// Handler tests of every branch of the request flow, through Elysia's
// app.handle, with the instances mocked by msw.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "../src/app";
import { resolveSettings } from "../src/config/settings";
import type { Instance } from "../src/config/table";
import { DispatchError } from "../src/errors";
import { memoryLogger } from "../src/log";
import { CookieNames } from "../src/session";
import { handlersFor, type MockInstance, mockInstance } from "./fixtures/msw-t3";

const instances = {
  old: mockInstance(5024, "0.0.24"),
  mid: mockInstance(5025, "0.0.25"),
  new: mockInstance(5033, "0.0.33"),
};
const table = new Map<string, Instance>(
  Object.entries(instances).map(([user, i]) => [user, { user, osUser: `os${user}`, port: i.port }]),
);
const server = setupServer(...Object.values(instances).flatMap(handlersFor));
const resolved = resolveSettings({ flags: { sessionTimeout: "300ms" } });
if (!resolved.ok) throw new Error("settings");

let mintBehaviour: "ok" | "fail" = "ok";
const minted: string[] = [];
const log = memoryLogger();
const app = createApp({
  settings: resolved.settings,
  routing: { lookup: (user) => table.get(user) },
  cookieNames: new CookieNames(),
  async mint(osUser) {
    minted.push(osUser);
    if (mintBehaviour === "fail") return new DispatchError("mint_failed", "exit 1");
    const instance = (instances as Record<string, MockInstance>)[osUser.slice("os".length)];
    const credential = `cred-${minted.length}`;
    instance?.credentials.add(credential);
    return credential;
  },
  bridge: async () => new DispatchError("upstream_down", "no WebSocket in handler tests"),
  peerAddress: () => undefined,
  log,
});

const request = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  app.handle(new Request(`http://localhost${path}`, { ...init, headers }));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  mintBehaviour = "ok";
  minted.length = 0;
  log.lines.length = 0;
  for (const i of Object.values(instances)) i.calls.length = 0;
});
afterAll(() => server.close());

async function pairAs(user: string): Promise<string> {
  const response = await request("/", { "x-authentik-username": `${user}@example.com` });
  expect(response.status).toBe(302);
  const cookie = response.headers.getSetCookie()[0] ?? "";
  return cookie.split(";")[0] ?? "";
}

describe("identity", () => {
  test("/healthz answers ok without identity", async () => {
    const response = await request("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  test("no header: 403 with a clear message, one log line", async () => {
    const response = await request("/");
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("X-authentik-username header is missing");
    expect(log.lines.map((l) => l.event)).toEqual(["no_identity"]);
  });

  test("unknown user: 403 'no t3 instance provisioned'", async () => {
    const response = await request("/", { "x-authentik-username": "mallory@example.com" });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("no t3 instance provisioned for this user\n");
    expect(minted).toEqual([]);
  });

  test("an invalid name is refused before any lookup or mint", async () => {
    const response = await request("/", { "x-authentik-username": "-rf;id@example.com" });
    expect(response.status).toBe(403);
    expect(minted).toEqual([]);
  });
});

describe("pairing without a cookie", () => {
  test.each([
    ["old", "0.0.24", ["POST /api/auth/browser-session", "POST /api/auth/bootstrap"]],
    ["mid", "0.0.25", ["POST /api/auth/browser-session"]],
    ["new", "0.0.33", ["POST /api/auth/browser-session"]],
  ])("%s (%s): mint, exchange, relay Set-Cookie, 302 to /", async (user, _v, calls) => {
    const response = await request("/some/page", { "x-authentik-username": user });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/");
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toStartWith(`${instances[user as keyof typeof instances].cookieName}=tok-`);
    expect(cookies[0]).toContain("HttpOnly");
    expect(minted).toEqual([`os${user}`]);
    expect(instances[user as keyof typeof instances].calls).toEqual(calls);
  });

  test("any request without a cookie pairs, whatever its kind (the original's rule)", async () => {
    const response = await request("/api/x", { "x-authentik-username": "mid", accept: "application/json" });
    expect(response.status).toBe(302);
  });

  test("mint failure: 500 'pairing mint failed', one error log line", async () => {
    mintBehaviour = "fail";
    const response = await request("/", { "x-authentik-username": "mid" });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("pairing mint failed\n");
    expect(log.lines.filter((l) => l.level === "error").map((l) => l.event)).toEqual(["mint_failed"]);
  });

  test("exchange rejected (401): 502", async () => {
    server.use(
      http.post("http://127.0.0.1:5025/api/auth/browser-session", () => HttpResponse.json({}, { status: 401 })),
    );
    const response = await request("/", { "x-authentik-username": "mid" });
    expect(response.status).toBe(502);
    expect(await response.text()).toBe("pairing exchange rejected by the t3 instance\n");
  });

  test("exchange unreachable: 502", async () => {
    server.use(http.post("http://127.0.0.1:5025/api/auth/browser-session", () => HttpResponse.error()));
    const response = await request("/", { "x-authentik-username": "mid" });
    expect(response.status).toBe(502);
    expect(await response.text()).toContain("did not answer");
  });
});

describe("a cookie present", () => {
  test("a live cookie on a document navigation is checked, then proxied", async () => {
    const cookie = await pairAs("new");
    instances.new.calls.length = 0;
    const response = await request("/", { "x-authentik-username": "new", cookie, "sec-fetch-dest": "document" });
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

  test("a WebSocket upgrade with a dead cookie is never 302", async () => {
    const cookie = await pairAs("mid");
    instances.mid.sessions.clear();
    const response = await request("/ws", {
      "x-authentik-username": "mid",
      cookie,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-fetch-dest": "websocket",
    });
    expect(response.status).not.toBe(302);
  });

  test.each([
    ["errors", () => HttpResponse.error()],
    ["answers 500", () => new HttpResponse(null, { status: 500 })],
    ["hangs past the timeout", () => new Promise<Response>(() => {})],
  ])("a session check that %s fails open and proxies", async (_name, resolver) => {
    const cookie = await pairAs("mid");
    server.use(http.get("http://127.0.0.1:5025/api/auth/session", resolver));
    const response = await request("/", { "x-authentik-username": "mid", cookie, "sec-fetch-dest": "document" });
    expect(response.status).toBe(200);
    expect(log.lines.map((l) => l.event)).toContain("session_check_failed_open");
  });

  test("0.0.33: once learned, a stale t3_session does not count as a session", async () => {
    await pairAs("new");
    minted.length = 0;
    const response = await request("/x", { "x-authentik-username": "new", cookie: "t3_session=old" });
    expect(response.status).toBe(302);
    expect(minted).toEqual(["osnew"]);
  });

  test("upstream down: 502, not 500", async () => {
    const cookie = await pairAs("mid");
    server.use(http.get("http://127.0.0.1:5025/x", () => HttpResponse.error()));
    const response = await request("/x", { "x-authentik-username": "mid", cookie });
    expect(response.status).toBe(502);
    expect(await response.text()).toBe("the t3 instance is not reachable\n");
  });
});
