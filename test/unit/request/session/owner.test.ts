import { describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { memoryLogger } from "../../../../src/lib/log";
import { SessionCache } from "../../../../src/request/session/cache";
import { loadSecret, OwnerBinding } from "../../../../src/request/session/owner";
import { tempDir } from "../../../fixtures/stack";

describe("owner binding of session cookies", () => {
  const owners = new OwnerBinding(Buffer.alloc(32, 1));

  test("a signature binds the user to that session value", () => {
    const owner = owners.sign("alice", "tok-1");
    expect(owner).toStartWith("alice.");
    expect(owners.verify("alice", "tok-1", owner)).toBe(true);
    expect(owners.verify("bob", "tok-1", owner)).toBe(false);
    expect(owners.verify("alice", "tok-2", owner)).toBe(false);
    expect(owners.verify("alice", "tok-1", undefined)).toBe(false);
    expect(owners.verify("alice", "tok-1", `${owner.slice(0, -1)}x`)).toBe(false);
    expect(new OwnerBinding(Buffer.alloc(32, 2)).verify("alice", "tok-1", owner)).toBe(false);
  });

  test("in a fleet a signature holds on its own host only, even where the hosts share the secret", () => {
    const onA = new OwnerBinding(Buffer.alloc(32, 1), "a");
    const owner = onA.sign("bob", "tok-1");
    expect(onA.verify("bob", "tok-1", owner)).toBe(true);
    expect(new OwnerBinding(Buffer.alloc(32, 1), "b").verify("bob", "tok-1", owner)).toBe(false);
    // Outside a fleet the signature is what it was before fleets: no browser re-pairs on the upgrade.
    expect(owners.sign("bob", "tok-1")).not.toBe(owner);
    expect(new OwnerBinding(Buffer.alloc(32, 1), "").sign("bob", "tok-1")).toBe(owners.sign("bob", "tok-1"));
  });

  test("the secret is created once (0600) and reused across restarts", () => {
    const dir = tempDir();
    try {
      const path = join(dir, "state", "cookie-secret");
      const first = loadSecret(path, memoryLogger());
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(loadSecret(path, memoryLogger())).toEqual(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an unwritable secret path falls back to a per-process secret, with a warning", () => {
    const log = memoryLogger();
    expect(loadSecret("/proc/no/such/secret", log)).toHaveLength(32);
    expect(log.lines.map((l) => l.event)).toEqual(["secret_not_persisted"]);
  });
});

describe("session cache", () => {
  test("remembers a valid cookie per instance until the TTL, and forgets on demand", async () => {
    const cache = new SessionCache(50);
    cache.remember(1, "tok");
    expect(cache.isValid(1, "tok")).toBe(true);
    expect(cache.isValid(2, "tok")).toBe(false);
    expect(cache.isValid(1, "other")).toBe(false);
    cache.forget(1, "tok");
    expect(cache.isValid(1, "tok")).toBe(false);
    cache.remember(1, "tok");
    await Bun.sleep(80);
    expect(cache.isValid(1, "tok")).toBe(false);
  });

  test("a TTL of 0 caches nothing", () => {
    const cache = new SessionCache(0);
    cache.remember(1, "tok");
    expect(cache.isValid(1, "tok")).toBe(false);
  });
});
