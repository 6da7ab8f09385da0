// Who listens on a port, from /proc/net/tcp text: only LISTEN sockets on that
// local port count (not a connection whose remote end has the port), and the
// addresses that would take a connection to the upstream host.
import { describe, expect, test } from "bun:test";
import { addressesFor, parseListenTable, readListenTable } from "../../../../src/request/instance/listeners";

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
