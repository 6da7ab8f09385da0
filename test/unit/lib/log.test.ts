import { describe, expect, test } from "bun:test";
import { createLogger, memoryLogger } from "../../../src/lib/log";

describe("log", () => {
  test("one JSON object per line, with a timestamp, level, event and fields; warnings and errors are urgent", () => {
    const written: Array<[string, boolean]> = [];
    const log = createLogger((line, urgent) => written.push([line, urgent]));
    log.log("info", "paired", { user: "alice", ms: 12 });
    log.log("warn", "set_cookie_dropped", { cookie: "t3d_owner" });
    log.log("error", "internal");
    const parsed = written.map(([line]) => JSON.parse(line));
    expect(parsed.map(({ ts: _ts, ...rest }) => rest)).toEqual([
      { level: "info", event: "paired", user: "alice", ms: 12 },
      { level: "warn", event: "set_cookie_dropped", cookie: "t3d_owner" },
      { level: "error", event: "internal" },
    ]);
    expect(parsed.every((line) => !Number.isNaN(Date.parse(line.ts)))).toBe(true);
    expect(written.map(([, urgent]) => urgent)).toEqual([false, true, true]);
  });

  test("the memory logger keeps lines for a test to read", () => {
    const log = memoryLogger();
    log.log("debug", "table_reloaded", { users: 2 });
    expect(log.lines).toEqual([{ level: "debug", event: "table_reloaded", users: 2 }]);
  });
});
