import { describe, expect, test } from "bun:test";
import { CappedMap } from "../../../src/lib/capped-map";

describe("CappedMap", () => {
  test("holds at most max entries: one more drops the oldest", () => {
    const map = new CappedMap<string, number>(3);
    for (const [i, key] of ["a", "b", "c", "d"].entries()) map.set(key, i);
    expect([...map]).toEqual([
      ["b", 1],
      ["c", 2],
      ["d", 3],
    ]);
  });

  test("setting a key it holds drops nothing", () => {
    const map = new CappedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("a", 3);
    expect([...map]).toEqual([
      ["a", 3],
      ["b", 2],
    ]);
  });

  test("a flood of distinct keys keeps it at max", () => {
    const map = new CappedMap<number, true>(100);
    for (let i = 0; i < 10_000; i++) map.set(i, true);
    expect(map.size).toBe(100);
    expect(map.has(9_999) && !map.has(9_899)).toBe(true);
  });
});
