// Who listens on a port, from /proc/net/tcp text: only LISTEN sockets on that
// local port count (not a connection whose remote end has the port), and the
// addresses that would take a connection to the upstream host.
import { describe, expect, test } from "bun:test";
import { instanceCheck } from "../../../../src/request/instance/check";
import {
  addressesFor,
  type Listener,
  parseListenTable,
  readListenTable,
} from "../../../../src/request/instance/listeners";

const HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
const row = (sl: number, local: string, remote: string, state: string, uid: number) =>
  `  ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000  ${uid}        0 ${1000 + sl} 1 0000000000000000 100 0 0 10 0`;
const TABLE = [
  HEADER,
  row(0, "0100007F:0FA0", "00000000:0000", "0A", 1001), // 127.0.0.1:4000 LISTEN, uid 1001
  row(1, "00000000:0FA1", "00000000:0000", "0A", 1002), // 0.0.0.0:4001 LISTEN, uid 1002
  row(2, "0100007F:D431", "0100007F:0FA1", "01", 1003), // a client connected TO 4001: not a listener
  row(3, "0100007F:0FA0", "0100007F:D432", "06", 1004), // TIME_WAIT on 4000: not a listener
].join("\n");

describe("parseListenTable", () => {
  test("the LISTEN sockets by port, with their uid", () => {
    const table = parseListenTable(TABLE);
    expect(table.get(4000)).toEqual([{ address: "0100007F", uid: 1001, inode: "1000" }]);
    expect(table.get(4001)).toEqual([{ address: "00000000", uid: 1002, inode: "1001" }]);
  });

  test("a connection or a TIME_WAIT socket is no listener, whichever end has the port", () => {
    const table = parseListenTable(`${TABLE}\n${row(4, "0100007F:D433", "0100007F:0FA2", "01", 1005)}`);
    expect([...table.keys()].sort()).toEqual([4000, 4001]);
  });

  test("IPv6 lines and a last line without a newline are read too", () => {
    const v6 = row(9, "00000000000000000000000001000000:1F90", "00000000000000000000000000000000:0000", "0A", 7);
    expect(parseListenTable(v6).get(8080)).toEqual([
      { address: "00000000000000000000000001000000", uid: 7, inode: "1009" },
    ]);
  });

  test("this host's table: a socket this process listens on is its own uid", () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const [mine] = readListenTable().get(server.port) ?? [];
      expect({ address: mine?.address, uid: mine?.uid }).toEqual({
        address: "0100007F",
        uid: process.getuid?.() ?? -1,
      });
      expect(mine?.inode).toMatch(/^[1-9]\d*$/);
    } finally {
      server.stop(true);
    }
  });
});

describe("addressesFor", () => {
  test("an IPv4 loopback host: itself, the wildcards and its IPv4-mapped form", () => {
    expect([...(addressesFor("127.0.0.1") ?? [])].sort()).toEqual(
      ["00000000", "0".repeat(32), "0100007F", "0000000000000000FFFF00000100007F"].sort(),
    );
  });

  test("a host that is not a loopback literal is not checked", () => {
    expect(addressesFor("10.0.0.5")).toBeUndefined();
    expect(addressesFor("t3.internal")).toBeUndefined();
  });
});

describe("instanceCheck", () => {
  const instance = { user: "bob", osUser: "bob", port: 4000 };
  const accounts = { uidOf: (name: string) => ({ bob: 1001, eve: 1002 })[name] };
  /** A check over a listen table that `listeners` gives for port 4000, counting reads and impostors. */
  const checker = (listeners: () => Listener[]) => {
    let impostors = 0;
    let reads = 0;
    const replaced: number[] = [];
    const check = instanceCheck({
      upstreamHost: "127.0.0.1",
      accounts,
      onImpostor: () => impostors++,
      onReplaced: (port) => replaced.push(port),
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
    expect(replaced).toEqual([4000]);
    socket = undefined;
    expect(check.fresh(instance)?.kind).toBe("upstream_down");
    expect(check.fresh(instance)?.kind).toBe("upstream_down");
    expect(replaced).toEqual([4000, 4000]);
    socket = "2";
    expect(check.fresh(instance)).toBeUndefined();
    expect(replaced).toEqual([4000, 4000]); // back up: nothing was cached to forget
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
