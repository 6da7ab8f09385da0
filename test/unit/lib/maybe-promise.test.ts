import { describe, expect, test } from "bun:test";
import { andThen } from "../../../src/lib/maybe-promise";

describe("andThen", () => {
  test("a ready value goes on at once, with no promise in between", () => {
    expect(andThen(2, (n) => n * 3)).toBe(6);
  });

  test("a promise goes on once it settles", async () => {
    const next = andThen(Promise.resolve(2), (n) => n * 3);
    expect(next).toBeInstanceOf(Promise);
    expect(await next).toBe(6);
  });
});
