// Is the socket on an instance's port that instance's own? One listen-table
// snapshot per second, refusals judged again on a fresh one, a replaced
// listener reported, pairing asking afresh.
import { describe, expect, test } from "bun:test";
import { instanceCheck } from "../../../../src/request/instance/check";
import type { Listener } from "../../../../src/request/instance/listeners";

describe("instanceCheck", () => {
  const instance = { user: "bob", osUser: "bob", port: 4000 };
  const accounts = { uidOf: (name: string) => ({ bob: 1001, eve: 1002 })[name] };
  /** A check over a listen table that `listeners` gives for port 4000, counting reads and impostors. */
  const checker = (listeners: () => Listener[]) => {
    let impostors = 0;
    let reads = 0;
    const replaced: string[] = [];
    const check = instanceCheck({
      upstreamHost: "127.0.0.1",
      accounts,
      onImpostor: () => impostors++,
      onReplaced: (replacedOne, listening) => replaced.push(`${replacedOne.port} ${listening ? "new" : "gone"}`),
      read() {
        reads++;
        return new Map([[4000, listeners()]]);
      },
    });
    if (check === undefined) throw new Error("loopback is checked");
    return { check, counts: () => ({ impostors, reads }), replaced };
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
});
