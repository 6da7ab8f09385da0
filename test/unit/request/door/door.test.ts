// The door on its own: what it sends to the owner host's dispatcher, over
// which TLS, and what becomes of an owner that does not answer. msw plays
// the owner for HTTP; a recording runtime stands in for the WebSocket bridge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import type { Instance } from "../../../../src/config/table";
import { DispatchError } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { arrive } from "../../../../src/request/arrival";
import { door } from "../../../../src/request/door/door";
import { Metrics } from "../../../../src/request/metrics";
import type { ClientTls, WebSocketTarget } from "../../../../src/runtime/runtime";

const OWNER = "https://198.18.0.2:3790";
const TLS: ClientTls = { ca: "the operator's CA", cert: "host a's certificate", key: "its key" };
const bob: Instance = { user: "bob", osUser: "bob", port: 3773, host: "b" };

const fetched: Array<{ url: string; tls?: ClientTls; headers: Headers }> = [];
const bridged: WebSocketTarget[] = [];
const server = setupServer(
  http.all(`${OWNER}/*`, ({ request }) => HttpResponse.text(`owner: ${new URL(request.url).pathname}`)),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

function doorFor(hosts: Record<string, string>, bridge: DispatchError | undefined = undefined) {
  const metrics = new Metrics();
  const log = memoryLogger();
  const proxy = door({
    hosts: new Map(Object.entries(hosts)),
    tls: TLS,
    connectTimeoutMs: 1000,
    runtime: {
      async fetchUpstream(url, init) {
        fetched.push({ url, tls: init.tls, headers: init.headers });
        return fetch(url, init);
      },
      async bridgeWebSocket(_server, _request, target) {
        bridged.push(target);
        return bridge;
      },
    },
    openSockets: new Set(),
    metrics,
    log,
  });
  return { proxy, metrics, log };
}

const requestOf = (path: string, headers: Record<string, string> = {}) => {
  const request = new Request(`http://t3.example.com${path}`, { headers: { host: "t3.example.com", ...headers } });
  return { request, record: arrive(request, "10.0.0.9") };
};

describe("the door", () => {
  test("HTTP goes to the owner's origin with the operator's TLS, token and path unchanged", async () => {
    const { proxy, metrics } = doorFor({ b: OWNER });
    const { request, record } = requestOf("/api/x?y=1", { "x-authentik-jwt": "t", cookie: "a=1" });
    const response = await proxy.proxy(request, undefined, record, bob);
    expect(response instanceof Response ? await response.text() : response).toBe("owner: /api/x");
    const sent = fetched.at(-1);
    expect(sent?.url).toBe(`${OWNER}/api/x?y=1`);
    expect(sent?.tls).toEqual(TLS);
    expect(sent?.headers.get("x-authentik-jwt")).toBe("t");
    expect(sent?.headers.get("cookie")).toBe("a=1");
    expect(sent?.headers.get("x-forwarded-for")).toBe("10.0.0.9");
    expect(metrics.fleetRequests.get("b")).toBe(1);
  });

  test("a WebSocket is bridged to wss: on the owner, with the TLS and the browser's subprotocols", async () => {
    const { proxy } = doorFor({ b: OWNER });
    const { request, record } = requestOf("/ws", {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-protocol": "t3.v2, t3.v1",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    });
    expect(await proxy.proxy(request, undefined, record, bob)).toBeUndefined();
    const target = bridged.at(-1);
    expect([target?.url, target?.tls, target?.protocols]).toEqual([
      `wss://198.18.0.2:3790/ws`,
      TLS,
      ["t3.v2", "t3.v1"],
    ]);
    expect(target?.headers.has("sec-websocket-key")).toBe(false);
  });

  test("an owner that answers the upgrade with a status: its answer (401 a dropped session), not a host down", async () => {
    const said = (status: number) =>
      doorFor(
        { b: OWNER },
        new DispatchError("upstream_down", `WebSocket /ws: failed: Expected 101 status code: ${status}`),
      );
    const { request, record } = requestOf("/ws", { upgrade: "websocket", connection: "upgrade" });
    const kinds = [];
    for (const status of [401, 503, 404]) {
      const door = said(status);
      const error = await door.proxy.proxy(request, undefined, record, bob);
      kinds.push(
        error instanceof DispatchError ? [error.kind, error.status, door.metrics.fleetErrors.get("b")] : error,
      );
    }
    expect(kinds).toEqual([
      ["no_session", 401, 0],
      ["instance_starting", 503, 0],
      ["upstream_down", 502, 0],
    ]);
  });

  test("an owner that refuses the socket, or a host not in fleetHosts: host_down, counted for that host", async () => {
    const refused = doorFor({ b: OWNER }, new DispatchError("upstream_down", "WebSocket /ws: refused"));
    const { request, record } = requestOf("/ws", { upgrade: "websocket", connection: "upgrade" });
    const error = await refused.proxy.proxy(request, undefined, record, bob);
    expect(error instanceof DispatchError ? [error.kind, error.detail, error.fields.host] : error).toEqual([
      "host_down",
      "host b: WebSocket /ws: refused",
      "b",
    ]);
    expect(refused.metrics.fleetErrors.get("b")).toBe(1);
    const unknown = doorFor({});
    const nowhere = await unknown.proxy.proxy(requestOf("/").request, undefined, requestOf("/").record, bob);
    expect(nowhere instanceof DispatchError ? nowhere.kind : nowhere).toBe("host_down");
  });
});
