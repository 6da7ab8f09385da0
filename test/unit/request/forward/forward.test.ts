// The forward stage on its own, with the runtime's fetch and bridge as
// functions the test sets: where a request goes, what of it the instance
// gets, what of the answer the browser gets, and what a connection error or a
// refused upgrade makes the dispatcher forget.
import { describe, expect, test } from "bun:test";
import type { Instance } from "../../../../src/config/table";
import { DispatchError } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { arrive } from "../../../../src/request/arrival";
import { SetCookieScreen } from "../../../../src/request/forward/cookie-filter";
import { type ForwardDeps, forwarder } from "../../../../src/request/forward/forward";
import { CookieNames } from "../../../../src/request/session/cookie-names";
import type { WebSocketTarget } from "../../../../src/runtime/runtime";

const alice: Instance = { user: "alice", osUser: "alice", port: 4300 };

/** A forwarder whose instance answers `answer`; what it was sent and what was forgotten are kept. */
function forwardWith(answer: () => Promise<Response>, bridge?: ForwardDeps["runtime"]["bridgeWebSocket"]) {
  const sent: Array<{ url: string; headers: Headers }> = [];
  const bridged: WebSocketTarget[] = [];
  const forgotten: string[] = [];
  const active: string[] = [];
  const log = memoryLogger();
  const forward = forwarder({
    upstreamHost: "127.0.0.1",
    connectTimeoutMs: 1000,
    secretHeader: "X-Front-Secret",
    frontCookiePrefixes: ["sso_"],
    instances: { forget: (port) => void forgotten.push(`genuineness ${port}`) },
    sessions: { forgetInstance: (port) => void forgotten.push(`sessions ${port}`) },
    screen: new SetCookieScreen(new CookieNames(), log),
    refusedUpgrade: async (_request, _instance, refused) => new DispatchError("no_session", refused.detail),
    runtime: {
      fetchUpstream: (url, init) => {
        sent.push({ url, headers: init.headers });
        return answer();
      },
      bridgeWebSocket:
        bridge ??
        (async (_server, _request, target) => {
          bridged.push(target);
          return undefined;
        }),
    },
    openSockets: new Set(),
    onActivity: (instance) => void active.push(instance.osUser),
    log,
  });
  const go = (request: Request, session = "t3_session") =>
    forward.proxy(request, undefined, arrive(request, "10.0.0.9"), alice, session);
  return { go, sent, bridged, forgotten, active, log };
}

const browser = (path: string, headers: Record<string, string> = {}) =>
  new Request(`https://t3.example${path}`, {
    headers: {
      cookie: "t3_session=mine; t3_session_4400_abcdef012345=bobs; t3d_owner=alice.x; sso_id=s; theme=dark",
      "x-authentik-username": "alice",
      "x-front-secret": "hunter2",
      ...headers,
    },
  });

describe("forward", () => {
  test("HTTP: to the instance's port with path and query; only its own and harmless cookies; no front headers", async () => {
    const { go, sent, active } = forwardWith(async () => new Response("ok"));
    const response = await go(browser("/api/x?y=1"));
    expect(active).toEqual(["alice"]); // an answered request is activity
    expect(await (response as Response).text()).toBe("ok");
    expect(sent.map((s) => s.url)).toEqual(["http://127.0.0.1:4300/api/x?y=1"]);
    const headers = sent[0]?.headers ?? new Headers();
    expect(headers.get("cookie")).toBe("t3_session=mine; theme=dark");
    expect([headers.has("x-authentik-username"), headers.has("x-front-secret")]).toEqual([false, false]);
    expect(headers.get("x-forwarded-for")).toBe("10.0.0.9");
  });

  test("the answer loses the cookies the instance may not set; each is logged once", async () => {
    const hostile = () => {
      const headers = new Headers();
      headers.append("set-cookie", "t3d_owner=alice.forged; Path=/");
      headers.append("set-cookie", "prefs=1; Path=/");
      return Promise.resolve(new Response("ok", { headers }));
    };
    const { go, log } = forwardWith(hostile);
    for (let i = 0; i < 3; i++) {
      const response = (await go(browser("/"))) as Response;
      expect(response.headers.getSetCookie()).toEqual(["prefs=1; Path=/"]);
    }
    expect(log.lines.filter((l) => l.event === "set_cookie_dropped").map((l) => l.cookie)).toEqual(["t3d_owner"]);
  });

  test("a connection error: upstream_down, and who holds the port and its sessions are in doubt", async () => {
    const { go, forgotten, active } = forwardWith(() => Promise.reject(new Error("ECONNREFUSED")));
    const response = await go(browser("/api/x"));
    expect((response as DispatchError).kind).toBe("upstream_down");
    expect(forgotten).toEqual(["genuineness 4300", "sessions 4300"]);
    expect(active).toEqual([]);
  });

  test("WebSocket: bridged to ws:// on its port with the offered subprotocols; nothing forgotten", async () => {
    const { go, bridged, forgotten, sent, active } = forwardWith(async () => new Response("not used"));
    const request = browser("/ws?x=1", { upgrade: "websocket", "sec-websocket-protocol": "a, b" });
    expect(await go(request)).toBeUndefined();
    expect(active).toEqual([]); // an open socket is not activity; a browser's frame is, but not a keepalive
    bridged[0]?.onClientFrame('{"_tag":"Ping"}');
    expect(active).toEqual([]);
    bridged[0]?.onClientFrame('{"_tag":"Request","id":"7","tag":"orchestration.dispatchCommand","payload":{}}');
    expect(active).toEqual(["alice"]);
    expect(bridged.map((t) => [t.url, t.protocols, t.connectTimeoutMs])).toEqual([
      ["ws://127.0.0.1:4300/ws?x=1", ["a", "b"], 1000],
    ]);
    expect(bridged[0]?.headers.get("cookie")).toBe("t3_session=mine; theme=dark");
    expect([forgotten, sent]).toEqual([[], []]);
  });

  test("a refused upgrade is explained by the session gate, and the instance is in doubt", async () => {
    const { go, forgotten } = forwardWith(
      async () => new Response("not used"),
      async () => new DispatchError("upstream_down", "Expected 101 status code: 401"),
    );
    const answer = await go(browser("/ws", { upgrade: "websocket" }));
    expect((answer as DispatchError).kind).toBe("no_session");
    expect(forgotten).toEqual(["genuineness 4300", "sessions 4300"]);
  });
});
