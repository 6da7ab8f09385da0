import { describe, expect, test } from "bun:test";
import { CookieNames, isDocumentNavigation } from "../../../../src/request/session/cookie-names";

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

describe("session cookie names", () => {
  test("before learning, t3_session or t3_session_<port>_<hash> of this port counts", () => {
    const names = new CookieNames();
    expect(names.find(3773, ["other", "t3_session"])).toBe("t3_session");
    expect(names.find(3773, ["t3_session_3773_abcdef012345"])).toBe("t3_session_3773_abcdef012345");
    expect(names.find(3773, ["t3_session_3774_abcdef012345"])).toBeUndefined();
    expect(names.find(3773, ["t3_sessionx", "session"])).toBeUndefined();
  });

  test("once learned, only the learned name counts", () => {
    const names = new CookieNames();
    names.learn(3773, "t3_session_3773_abcdef012345");
    expect(names.find(3773, ["t3_session"])).toBeUndefined();
    expect(names.find(3773, ["t3_session", "t3_session_3773_abcdef012345"])).toBe("t3_session_3773_abcdef012345");
  });

  test("a name that is not a t3 session cookie is not learned", () => {
    const names = new CookieNames();
    names.learn(3773, "evil");
    names.learn(3773, undefined);
    expect(names.find(3773, ["t3_session"])).toBe("t3_session");
  });
});
