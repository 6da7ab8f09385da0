import { describe, expect, test } from "bun:test";
import { arrive, isDocumentNavigation } from "../../../src/request/arrival";

const req = (headers: Record<string, string>, method = "GET") => new Request("http://localhost/", { method, headers });

describe("document navigation", () => {
  test("Sec-Fetch-Dest decides when present", () => {
    expect(isDocumentNavigation(req({ "sec-fetch-dest": "document" }))).toBe(true);
    expect(isDocumentNavigation(req({ "sec-fetch-dest": "empty", accept: "text/html" }))).toBe(false);
    expect(isDocumentNavigation(req({ "sec-fetch-dest": "script" }))).toBe(false);
    expect(isDocumentNavigation(req({ "sec-fetch-dest": "websocket" }))).toBe(false);
  });

  test("without it, Accept containing text/html counts", () => {
    expect(isDocumentNavigation(req({ accept: "text/html,application/xhtml+xml" }))).toBe(true);
    expect(isDocumentNavigation(req({ accept: "application/json" }))).toBe(false);
    expect(isDocumentNavigation(req({}))).toBe(false);
  });

  test("only GET", () => {
    expect(isDocumentNavigation(req({ "sec-fetch-dest": "document" }, "POST"))).toBe(false);
  });
});

describe("arrive", () => {
  test("the record: the front's sane request id, the URL, navigation and upgrade", () => {
    const record = arrive(
      new Request("http://t3.example/a?b=1", { headers: { "x-request-id": "front-1", "sec-fetch-dest": "document" } }),
      "10.0.0.1",
    );
    expect(record).toMatchObject({ id: "front-1", peer: "10.0.0.1", html: true, upgrade: false });
    expect(record.url.href).toBe("http://t3.example/a?b=1");
    expect(record.user).toBeUndefined();
    const upgrade = arrive(new Request("http://t3.example/ws", { headers: { upgrade: "WebSocket" } }), undefined);
    expect([upgrade.html, upgrade.upgrade]).toEqual([false, true]);
  });
});
