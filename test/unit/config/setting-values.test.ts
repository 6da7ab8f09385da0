import { describe, expect, test } from "bun:test";
import { durationMs, list, parseListen } from "../../../src/config/setting-values";
import { Failure } from "../../../src/lib/errors";

describe("setting values", () => {
  test("listen accepts host:port, [v6]:port and unix:/path only", () => {
    expect(parseListen("0.0.0.0:80")).toEqual({ kind: "tcp", hostname: "0.0.0.0", port: 80 });
    expect(parseListen("[::1]:3780")).toEqual({ kind: "tcp", hostname: "::1", port: 3780 });
    expect(parseListen("unix:/run/t3d.sock")).toEqual({ kind: "unix", path: "/run/t3d.sock" });
    expect(parseListen("3780")).toBeInstanceOf(Failure);
    expect(parseListen("unix:relative.sock")).toBeInstanceOf(Failure);
    expect(parseListen("host:99999")).toBeInstanceOf(Failure);
  });

  test("durations", () => {
    expect(durationMs("250ms")).toBe(250);
    expect(durationMs("2m")).toBe(120_000);
    expect(durationMs(42)).toBe(42);
    expect(durationMs("5 s")).toBeInstanceOf(Failure);
  });

  test("lists: comma-separated, trimmed, empty items dropped", () => {
    expect(list(" a, b ,,c ")).toEqual(["a", "b", "c"]);
    expect(list("")).toEqual([]);
  });
});
