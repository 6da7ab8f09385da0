// Cookies that stay home, both ways: what an instance is sent from a shared
// browser's Cookie header, and which of its Set-Cookie lines reach the browser.
import { describe, expect, test } from "bun:test";
import {
  cookiesForInstance,
  FRONT_COOKIE_PREFIXES,
  screenSetCookies,
} from "../../../../src/request/forward/cookie-filter";
import { CookieNames } from "../../../../src/request/session/cookie-names";

// One browser shared by two people: alice's instance on 4001 (t3 ≥ 0.0.29 names its cookie by port), bob's on 4002.
const SHARED =
  "theme=dark; t3_session_4001_a=alice-token; t3_session_4002_b=bob-token; t3d_owner=alice.sig; authentik_session=sso; authentik_csrf=x; t3_session=old";

describe("cookiesForInstance", () => {
  test("alice's instance gets her session cookie and the cookies foreign to no one", () => {
    expect(cookiesForInstance(SHARED, "t3_session_4001_a", FRONT_COOKIE_PREFIXES)).toBe(
      "theme=dark; t3_session_4001_a=alice-token",
    );
  });

  test("bob's instance never sees alice's session, the owner binding or the front's cookies", () => {
    const sent = cookiesForInstance(SHARED, "t3_session_4002_b", FRONT_COOKIE_PREFIXES) ?? "";
    expect(sent).toBe("theme=dark; t3_session_4002_b=bob-token");
    for (const leaked of ["alice-token", "t3d_owner", "authentik_", "t3_session=old"])
      expect(sent).not.toContain(leaked);
  });

  test("with no session yet no t3 session cookie goes at all; extra front prefixes are dropped too", () => {
    expect(cookiesForInstance(`${SHARED}; traefik_sso=1`, undefined, [...FRONT_COOKIE_PREFIXES, "traefik_"])).toBe(
      "theme=dark",
    );
  });

  test("nothing left is no Cookie header", () => {
    expect(cookiesForInstance("t3d_owner=x; authentik_session=y", "t3_session", FRONT_COOKIE_PREFIXES)).toBeNull();
    expect(cookiesForInstance(null, "t3_session", FRONT_COOKIE_PREFIXES)).toBeNull();
  });
});

describe("screenSetCookies", () => {
  const names = new CookieNames();
  names.learn(4001, "t3_session_4001_a");
  const own = (name: string) => names.isOwn(4001, name);

  test("the instance's own session cookie and ordinary cookies pass", () => {
    const lines = ["t3_session_4001_a=new; Path=/; HttpOnly", "theme=light; Path=/"];
    expect(screenSetCookies(lines, own)).toEqual({ kept: lines, dropped: [] });
  });

  test("the owner cookie, another instance's session and Domain cookies are dropped, each with its reason", () => {
    const { kept, dropped } = screenSetCookies(
      [
        "t3d_owner=bob.forged; Path=/",
        "t3_session_4002_b=planted; Path=/",
        "t3_session=planted; Path=/",
        "tracker=1; Path=/; Domain=example.com",
        "ok=1",
      ],
      own,
    );
    expect(kept).toEqual(["ok=1"]);
    expect(dropped).toEqual([
      { name: "t3d_owner", reason: "owner_cookie" },
      { name: "t3_session_4002_b", reason: "foreign_session" },
      { name: "t3_session", reason: "foreign_session" },
      { name: "tracker", reason: "domain_attribute" },
    ]);
  });
});
