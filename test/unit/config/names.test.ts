import { describe, expect, test } from "bun:test";
import { isDomain, isOsUser, isUserName, TABLE_KEY_PATTERN } from "../../../src/config/names";

describe("names", () => {
  test("user names: lower case, a letter or digit first, dots, dashes and underscores after", () => {
    expect(["vbarzin", "emil.barzin", "a_b-c", "0day"].map(isUserName)).toEqual([true, true, true, true]);
    expect(["Alice", ".hidden", "-rf", "a b", "", "x".repeat(65)].map(isUserName)).toEqual(Array(6).fill(false));
  });

  test("OS accounts never start with a dash or a digit, and stay under 33 characters", () => {
    expect(["alice", "_svc", "t3-install"].map(isOsUser)).toEqual([true, true, true]);
    expect(["-rf", "0day", "a.b", "x".repeat(33)].map(isOsUser)).toEqual([false, false, false, false]);
  });

  test("domains: lower-case labels, no empty or dash-edged label", () => {
    expect(["example.com", "a-b.example"].map(isDomain)).toEqual([true, true]);
    expect(["Example.com", "-a.com", "a..com", `${"a".repeat(250)}.com`].map(isDomain)).toEqual(Array(4).fill(false));
  });

  test("a table key is a user name, or a full identity with a domain", () => {
    const key = new RegExp(TABLE_KEY_PATTERN);
    expect(["vbarzin", "vbarzin@gmail.com"].map((k) => key.test(k))).toEqual([true, true]);
    expect(["vbarzin@", "@gmail.com", "a@b@c"].map((k) => key.test(k))).toEqual([false, false, false]);
  });
});
