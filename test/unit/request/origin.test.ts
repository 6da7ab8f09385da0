// Same-origin sockets and writes: a WebSocket upgrade or a state-changing
// request from another origin is refused; reads and requests without Origin pass.
import { describe, expect, test } from "bun:test";
import { checkOrigin } from "../../../src/request/origin";

const ask = (method: string, headers: Record<string, string>, upgrade = false, configured?: string) => {
  const request = new Request("http://127.0.0.1:3780/api/x", { method, headers });
  return checkOrigin(request, new URL(request.url), configured, upgrade)?.kind ?? "pass";
};
const FRONT = { "x-forwarded-proto": "https", "x-forwarded-host": "t3.example.com" };

describe("checkOrigin", () => {
  test("the public origin, from what the front forwarded, passes", () => {
    expect(ask("POST", { ...FRONT, origin: "https://t3.example.com" })).toBe("pass");
    expect(ask("GET", { ...FRONT, origin: "https://t3.example.com" }, true)).toBe("pass");
  });

  test("a sibling app of the same site cannot write or open a socket", () => {
    expect(ask("POST", { ...FRONT, origin: "https://preview.example.com" })).toBe("cross_origin");
    expect(ask("GET", { ...FRONT, origin: "https://preview.example.com" }, true)).toBe("cross_origin");
    expect(ask("DELETE", { ...FRONT, origin: "http://t3.example.com" })).toBe("cross_origin");
  });

  test("reads pass whatever their origin; a request without Origin is not a browser's cross-site one", () => {
    expect(ask("GET", { ...FRONT, origin: "https://evil.example" })).toBe("pass");
    expect(ask("POST", FRONT)).toBe("pass");
  });

  test("a configured publicUrl wins over forwarded headers", () => {
    const forged = { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example", origin: "https://evil.example" };
    expect(ask("POST", forged, false, "https://t3.example.com")).toBe("cross_origin");
    expect(ask("POST", { ...forged, origin: "https://t3.example.com" }, false, "https://t3.example.com")).toBe("pass");
  });
});
