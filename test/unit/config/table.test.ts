import { describe, expect, test } from "bun:test";
import { NO_FLEET, parseTable } from "../../../src/config/table";
import { Invalid } from "../../../src/lib/errors";

describe("dispatch table", () => {
  test("a valid table maps users to instances", () => {
    const result = parseTable(
      JSON.stringify({ vbarzin: { os_user: "vbarzin", port: 3773 }, "emil.barzin": { os_user: "emil", port: 3774 } }),
      NO_FLEET,
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
      NO_FLEET,
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
    const result = parseTable(text, NO_FLEET);
    expect(result).toBeInstanceOf(Invalid);
    if (result instanceof Invalid) expect(result.problems.join("\n")).toContain(expected);
  });

  test("two OS users on one port is refused; aliases of one OS user are not", () => {
    const clash = parseTable(JSON.stringify({ a: { os_user: "a", port: 5 }, b: { os_user: "b", port: 5 } }), NO_FLEET);
    expect(clash).toBeInstanceOf(Invalid);
    if (clash instanceof Invalid) expect(clash.problems[0]).toContain("port 5 is already the instance of os_user a");
    const alias = parseTable(
      JSON.stringify({ a: { os_user: "a", port: 5 }, "a.alias": { os_user: "a", port: 5 } }),
      NO_FLEET,
    );
    expect(alias).not.toBeInstanceOf(Invalid);
  });

  describe("hosts of a fleet", () => {
    const fleet = {
      self: "a",
      hosts: new Map([
        ["a", "https://198.18.0.1:3790"],
        ["b", "https://198.18.0.2:3790"],
      ]),
    };

    test("an entry names its host; this host's name, or none, is this host", () => {
      const table = parseTable(
        JSON.stringify({
          alice: { os_user: "alice", port: 3773 },
          amy: { os_user: "amy", port: 3774, host: "a" },
          bob: { os_user: "bob", port: 3773, host: "b" },
        }),
        fleet,
      );
      if (table instanceof Invalid) throw new Error(table.detail);
      expect([...table.values()].map((i) => `${i.user}@${i.host ?? "here"}`)).toEqual([
        "alice@here",
        "amy@here",
        "bob@b",
      ]);
    });

    test("ports are unique per host: two accounts on one host's port are refused", () => {
      const clash = parseTable(
        JSON.stringify({
          bob: { os_user: "bob", port: 3773, host: "b" },
          eve: { os_user: "eve", port: 3773, host: "b" },
        }),
        fleet,
      );
      expect(clash instanceof Invalid ? clash.problems : []).toEqual([
        "/eve/port: port 3773 is already the instance of os_user bob on b",
      ]);
      const here = parseTable(
        JSON.stringify({ amy: { os_user: "amy", port: 3773, host: "a" }, eve: { os_user: "eve", port: 3773 } }),
        fleet,
      );
      expect(here).toBeInstanceOf(Invalid);
    });

    test("a host that is not in fleetHosts, or any host without a fleet, is refused by name", () => {
      const entry = JSON.stringify({ carol: { os_user: "carol", port: 3773, host: "c" } });
      const unknown = parseTable(entry, fleet);
      expect(unknown instanceof Invalid ? unknown.problems : []).toEqual([
        "/carol/host: host c is not one of fleetHosts (a, b)",
      ]);
      const alone = parseTable(entry, NO_FLEET);
      expect(alone instanceof Invalid ? alone.problems[0] : "").toContain("none: set fleetHosts to use hosts");
      const badName = parseTable(JSON.stringify({ carol: { os_user: "carol", port: 1, host: "B_2" } }), fleet);
      expect(badName instanceof Invalid ? badName.problems[0] : "").toContain("/carol/host");
    });
  });
});
