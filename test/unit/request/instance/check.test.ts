// Is the socket on an instance's port that instance's own? One listen-table
// snapshot per second, refusals judged again on a fresh one, a replaced
// listener reported, pairing asking afresh.
import { describe, expect, test } from "bun:test";
import { type Genuineness, InstanceDown, instanceCheck } from "../../../../src/request/instance/check";
import type { Listener } from "../../../../src/request/instance/listeners";

describe("instanceCheck", () => {
  const instance = { user: "bob", osUser: "bob", port: 4000 };
  const accounts = { uidOf: (name: string) => ({ bob: 1001, eve: 1002 })[name] };
  /** A check over a listen table that `listeners` gives for port 4000, counting reads and impostors. */
  const checker = (listeners: () => Listener[], connects?: (port: number) => Promise<boolean>) => {
    let impostors = 0;
    let reads = 0;
    const replaced: string[] = [];
    const raw = instanceCheck({
      upstreamHost: "127.0.0.1",
      accounts,
      onImpostor: () => impostors++,
      onReplaced: (replacedOne, listening) => replaced.push(`${replacedOne.port} ${listening ? "new" : "gone"}`),
      read() {
        reads++;
        return new Map([[4000, listeners()]]);
      },
      connects,
    });
    if (raw === undefined) throw new Error("loopback is checked");
    // Without `connects` the check never waits: its answers are read as they are.
    const check = { ...raw, check: (i: typeof instance) => raw.check(i) as Genuineness };
    return { check, raw, counts: () => ({ impostors, reads }), replaced };
  };

  test("genuine: one snapshot serves every request and every port for a while", () => {
    const { check, counts } = checker(() => [{ address: "0100007F", uid: 1001, inode: "1" }]);
    for (let i = 0; i < 100; i++) expect(check.check(instance)).toBeUndefined();
    expect(check.check({ ...instance, port: 4001 })?.kind).toBe("upstream_down");
    expect(counts()).toEqual({ impostors: 0, reads: 1 });
  });

  test("another account on the port: instance_impostor with the holder, counted each time", () => {
    const { check, counts } = checker(() => [{ address: "00000000", uid: 1002, inode: "1" }]);
    const verdict = check.check(instance);
    expect(verdict?.kind).toBe("instance_impostor");
    expect(verdict?.fields).toEqual({ port: 4000, holder_uid: 1002, os_user: "bob" });
    check.check(instance);
    expect(counts().impostors).toBe(2);
  });

  test("a refusal is judged again on a newer snapshot, but a flood of refusals costs a bounded number of reads", async () => {
    let up = false;
    const { check, counts } = checker(() => (up ? [{ address: "0100007F", uid: 1001, inode: "1" }] : []));
    for (let i = 0; i < 100; i++) expect(check.check(instance)?.kind).toBe("upstream_down");
    expect(counts().reads).toBeLessThanOrEqual(2);
    up = true;
    await Bun.sleep(120);
    expect(check.check(instance)).toBeUndefined(); // served again well within the second
  });

  test("after a connection error the port is judged on a newer snapshot", async () => {
    let holder = 1001;
    const { check, counts } = checker(() => [{ address: "0100007F", uid: holder, inode: "1" }]);
    expect(check.check(instance)).toBeUndefined();
    holder = 1002;
    check.forget(4000);
    await Bun.sleep(120);
    expect(check.check(instance)?.kind).toBe("instance_impostor");
    expect(counts().reads).toBe(2);
  });

  test("a listener on another address of the port does not count; nothing listening is upstream_down", () => {
    expect(checker(() => [{ address: "0200007F", uid: 1002, inode: "1" }]).check.check(instance)?.kind).toBe(
      "upstream_down",
    );
  });

  test("an unknown os_user is never genuine", () => {
    const { check } = checker(() => [{ address: "0100007F", uid: 1001, inode: "1" }]);
    expect(check.check({ ...instance, osUser: "nobody-here" })?.kind).toBe("instance_impostor");
  });

  test("a new socket on the port, or none, is reported once: the instance restarted or went down", async () => {
    let socket: string | undefined = "1";
    const { check, replaced } = checker(() => (socket ? [{ address: "0100007F", uid: 1001, inode: socket }] : []));
    expect(check.check(instance)).toBeUndefined();
    socket = "2";
    check.forget(4000);
    await Bun.sleep(120);
    expect(check.check(instance)).toBeUndefined();
    expect(replaced).toEqual(["4000 new"]);
    socket = undefined;
    expect(check.fresh(instance)?.kind).toBe("upstream_down");
    expect(check.fresh(instance)?.kind).toBe("upstream_down");
    expect(replaced).toEqual(["4000 new", "4000 gone"]);
    socket = "2";
    expect(check.fresh(instance)).toBeUndefined();
    expect(replaced).toEqual(["4000 new", "4000 gone"]); // back up: nothing was cached to forget
  });

  test("fresh asks /proc whatever is cached", () => {
    let holder = 1001;
    const { check, counts } = checker(() => [{ address: "0100007F", uid: holder, inode: "1" }]);
    expect(check.check(instance)).toBeUndefined();
    holder = 1002;
    expect(check.check(instance)).toBeUndefined(); // the kept snapshot: the residual window
    expect(check.fresh(instance)?.kind).toBe("instance_impostor");
    expect(counts().reads).toBe(2);
  });

  describe("the kernel decides down: an empty snapshot is tried with a connection", () => {
    test("refused: down, with no read beyond the snapshot's, however many requests", async () => {
      let tries = 0;
      const { raw, counts } = checker(
        () => [],
        async () => {
          tries++;
          return false;
        },
      );
      for (let i = 0; i < 100; i++) expect(await raw.check(instance)).toBeInstanceOf(InstanceDown);
      expect([tries, counts().reads]).toEqual([100, 1]);
    });

    test("accepted just after a snapshot: judged on the next one (no 502), reads still bounded", async () => {
      let up = false;
      const { raw, counts } = checker(
        () => (up ? [{ address: "0100007F", uid: 1001, inode: "1" }] : []),
        async () => up,
      );
      expect(await raw.check(instance)).toBeInstanceOf(InstanceDown); // the first read, and a refusal
      up = true; // it listens now; the snapshot does not know yet
      const started = Date.now();
      const verdicts = await Promise.all(Array.from({ length: 50 }, () => raw.check(instance)));
      expect(verdicts.every((v) => v === undefined)).toBe(true);
      expect(Date.now() - started).toBeLessThan(500);
      expect(counts().reads).toBeLessThanOrEqual(3); // 50 concurrent requests shared one new snapshot
      expect(raw.check(instance)).toBeUndefined(); // and now it is the cached answer again
    });

    test("accepted by a squatter: an impostor, judged before anything is sent", async () => {
      let squatted = false;
      const { raw, counts } = checker(
        () => (squatted ? [{ address: "00000000", uid: 1002, inode: "9" }] : []),
        async () => squatted,
      );
      expect(await raw.check(instance)).toBeInstanceOf(InstanceDown);
      squatted = true;
      expect((await raw.check(instance))?.kind).toBe("instance_impostor");
      expect(counts().impostors).toBe(1);
    });
  });
});
