import { describe, expect, test } from "bun:test";
import { CookieNames } from "../../../../src/request/session/cookie-names";

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
