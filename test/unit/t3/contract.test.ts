import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { isSessionCookieName, PAIR_ENDPOINTS, SessionAnswer, setCookieName } from "../../../src/t3/contract";

describe("the t3 contract", () => {
  test("the newer pairing endpoint is tried first", () => {
    expect(PAIR_ENDPOINTS).toEqual(["/api/auth/browser-session", "/api/auth/bootstrap"]);
  });

  test("session cookie names: t3_session, or t3_session_<this port>_<hash>", () => {
    expect(isSessionCookieName("t3_session", 3773)).toBe(true);
    expect(isSessionCookieName("t3_session_3773_abcdef012345", 3773)).toBe(true);
    expect(isSessionCookieName("t3_session_3774_abcdef012345", 3773)).toBe(false);
    expect(isSessionCookieName("t3d_owner", 3773)).toBe(false);
  });

  test("the name a Set-Cookie line sets", () => {
    expect(setCookieName("t3_session=abc; Path=/; HttpOnly")).toBe("t3_session");
    expect(setCookieName(" spaced =1")).toBe("spaced");
    expect(setCookieName("novalue")).toBe("novalue");
  });

  test("the session answer: authenticated, and maybe the cookie name", () => {
    expect(Value.Check(SessionAnswer, { authenticated: false, auth: { sessionCookieName: "t3_session" } })).toBe(true);
    expect(Value.Check(SessionAnswer, { authenticated: "yes" })).toBe(false);
  });
});
