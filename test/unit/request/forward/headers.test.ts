import { describe, expect, test } from "bun:test";
import { stripHopByHop, takeWebSocketHandshake, upstreamRequestHeaders } from "../../../../src/request/forward/headers";

describe("proxy headers", () => {
  test("hop-by-hop headers, and those Connection names, are removed", () => {
    const headers = stripHopByHop(
      new Headers({
        connection: "close, x-private",
        "x-private": "1",
        "keep-alive": "5",
        te: "trailers",
        "x-kept": "1",
      }),
    );
    expect([...headers.keys()]).toEqual(["x-kept"]);
  });

  test("X-Forwarded-* are set, the front proxy's values win, Host and dropped headers go", () => {
    const request = new Request("http://t3.example.com/x", {
      headers: {
        host: "t3.example.com",
        "x-forwarded-proto": "https",
        "x-forwarded-for": "203.0.113.9",
        "x-authentik-username": "a",
      },
    });
    const headers = upstreamRequestHeaders(request, {
      clientAddress: "127.0.0.1",
      dropPrefixes: ["x-authentik-"],
      requestId: "req-1",
    });
    expect(headers.get("host")).toBeNull();
    expect(headers.get("x-authentik-username")).toBeNull();
    expect(headers.get("x-request-id")).toBe("req-1");
    expect(headers.get("x-forwarded-for")).toBe("203.0.113.9, 127.0.0.1");
    expect(headers.get("x-forwarded-proto")).toBe("https");
    expect(headers.get("x-forwarded-host")).toBe("t3.example.com");
  });

  test("upstream, hop-by-hop and Connection-named headers go, the request id is ours, a chain is kept", () => {
    const request = new Request("http://t3.example.com/x", {
      headers: {
        connection: "keep-alive, x-private",
        "x-private": "1",
        "keep-alive": "5",
        "x-request-id": "front-1",
        "x-forwarded-for": "203.0.113.9",
        accept: "*/*",
      },
    });
    const ours = upstreamRequestHeaders(request, { clientAddress: undefined, dropPrefixes: [], requestId: "req-2" });
    expect([...ours.keys()].sort()).toEqual(["accept", "x-forwarded-for", "x-forwarded-proto", "x-request-id"]);
    expect(ours.get("x-request-id")).toBe("req-2");
    expect(ours.get("x-forwarded-for")).toBe("203.0.113.9");
    expect(ours.get("x-forwarded-proto")).toBe("http");
    // Without an id of ours, the front's goes on.
    const theirs = upstreamRequestHeaders(request, { clientAddress: "127.0.0.1", dropPrefixes: [] });
    expect(theirs.get("x-request-id")).toBe("front-1");
    expect(theirs.get("x-forwarded-for")).toBe("203.0.113.9, 127.0.0.1");
  });

  test("the WebSocket handshake headers are taken out and the subprotocols returned", () => {
    const request = new Request("http://localhost/ws", {
      headers: { "sec-websocket-protocol": "a, b", "sec-websocket-key": "k", cookie: "c=1" },
    });
    const headers = new Headers(request.headers);
    expect(takeWebSocketHandshake(request, headers)).toEqual(["a", "b"]);
    expect([...headers.keys()]).toEqual(["cookie"]);
  });
});
