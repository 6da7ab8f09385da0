// The browser's Cookie header read raw: what the owner signature covers and
// what is forwarded must be the exact bytes t3 set.
import { describe, expect, test } from "bun:test";
import { parseCookies } from "../../../../src/request/session/cookies";

describe("parseCookies", () => {
  test("values stay as sent (no decoding, no JSON), the first of a repeated name wins", () => {
    const cookies = parseCookies('a=%22x%22; b={"k":1}; a=second; c==eq=; =nameless; flag');
    expect([...cookies]).toEqual([
      ["a", "%22x%22"],
      ["b", '{"k":1}'],
      ["c", "=eq="],
    ]);
  });

  test("no header or an empty one is no cookies", () => {
    expect(parseCookies(null).size).toBe(0);
    expect(parseCookies("").size).toBe(0);
  });

  test("the same header text gives the same answer; a flood of distinct headers is still parsed right", () => {
    expect(parseCookies("x=1; y=2")).toBe(parseCookies("x=1; y=2"));
    for (let i = 0; i < 3000; i++) expect(parseCookies(`n=${i}`).get("n")).toBe(String(i));
  });
});
