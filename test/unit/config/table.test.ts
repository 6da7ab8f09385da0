import { describe, expect, test } from "bun:test";
import { parseTable } from "../../../src/config/table";
import { Invalid } from "../../../src/lib/errors";

describe("dispatch table", () => {
  test("a valid table maps users to instances", () => {
    const result = parseTable(
      JSON.stringify({ vbarzin: { os_user: "vbarzin", port: 3773 }, "emil.barzin": { os_user: "emil", port: 3774 } }),
    );
    expect(result).not.toBeInstanceOf(Invalid);
    if (result instanceof Invalid) return;
    expect(result.get("emil.barzin")).toEqual({ user: "emil.barzin", osUser: "emil", port: 3774 });
    expect(result.size).toBe(2);
  });

  test("every error is listed at once", () => {
    const result = parseTable(
      JSON.stringify({
        "Bad Name": { os_user: "x", port: 1 },
        alice: { os_user: "-rf", port: 70000, extra: 1 },
        bob: { port: "x" },
      }),
    );
    expect(result).toBeInstanceOf(Invalid);
    if (!(result instanceof Invalid)) return;
    const text = result.problems.join("\n");
    expect(text).toContain("/Bad Name: must be a user name or user@domain");
    expect(text).toContain("/alice/os_user");
    expect(text).toContain("/alice/port");
    expect(text).toContain("/alice/extra");
    expect(text).toContain("/bob/os_user");
    expect(text).toContain("/bob/port");
  });

  test.each([
    ["not JSON", "{", "not valid JSON"],
    ["an array", "[]", "must be a JSON object"],
    ["null", "null", "must be a JSON object"],
    ["a zero port", JSON.stringify({ a: { os_user: "a", port: 0 } }), "/a/port"],
    ["a fractional port", JSON.stringify({ a: { os_user: "a", port: 1.5 } }), "/a/port"],
    ["an os_user with a shell metacharacter", JSON.stringify({ a: { os_user: "a;rm", port: 1 } }), "/a/os_user"],
    ["an os_user that looks like a flag", JSON.stringify({ a: { os_user: "-u", port: 1 } }), "/a/os_user"],
  ])("rejects %s", (_name, text, expected) => {
    const result = parseTable(text);
    expect(result).toBeInstanceOf(Invalid);
    if (result instanceof Invalid) expect(result.problems.join("\n")).toContain(expected);
  });

  test("two OS users on one port is refused; aliases of one OS user are not", () => {
    const clash = parseTable(JSON.stringify({ a: { os_user: "a", port: 5 }, b: { os_user: "b", port: 5 } }));
    expect(clash).toBeInstanceOf(Invalid);
    if (clash instanceof Invalid) expect(clash.problems[0]).toContain("port 5 is already the instance of os_user a");
    const alias = parseTable(JSON.stringify({ a: { os_user: "a", port: 5 }, "a.alias": { os_user: "a", port: 5 } }));
    expect(alias).not.toBeInstanceOf(Invalid);
  });
});
