// Recent "valid" answers: they expire, an instance seen down or restarted
// loses all of its own, and the cache is bounded.
import { describe, expect, test } from "bun:test";
import { SessionCache } from "../../../../src/request/session/cache";

describe("SessionCache", () => {
  test("entries expire after the TTL", async () => {
    const cache = new SessionCache(30);
    cache.remember(1, "a");
    expect(cache.isValid(1, "a")).toBe(true);
    await Bun.sleep(40);
    expect(cache.isValid(1, "a")).toBe(false);
  });

  test("forgetInstance drops every answer about that port and no other", () => {
    const cache = new SessionCache(60_000);
    cache.remember(1, "a");
    cache.remember(1, "b");
    cache.remember(2, "a");
    cache.forgetInstance(1);
    expect([cache.isValid(1, "a"), cache.isValid(1, "b"), cache.isValid(2, "a")]).toEqual([false, false, true]);
  });

  test("bounded: past 10 000 entries the oldest goes first", () => {
    const cache = new SessionCache(60_000);
    for (let i = 0; i <= 10_000; i++) cache.remember(i % 7, `v${i}`);
    expect(cache.isValid(0, "v0")).toBe(false);
    expect(cache.isValid(1, "v1")).toBe(true);
    expect(cache.isValid(10_000 % 7, "v10000")).toBe(true);
  });
});
