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

  test("the WebSocket handshake headers are taken out and the subprotocols returned", () => {
    const request = new Request("http://localhost/ws", {
      headers: { "sec-websocket-protocol": "a, b", "sec-websocket-key": "k", cookie: "c=1" },
    });
    const headers = new Headers(request.headers);
    expect(takeWebSocketHandshake(request, headers)).toEqual(["a", "b"]);
    expect([...headers.keys()]).toEqual(["cookie"]);
  });
});
