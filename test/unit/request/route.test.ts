// Identity scoping: a full-identity key matches exactly; a local-part key
// matches a foreign domain only when identityDomains is empty.
import { describe, expect, test } from "bun:test";
import type { DispatchTable } from "../../../src/config/table";
import { DispatchError, Invalid } from "../../../src/lib/errors";
import { memoryLogger } from "../../../src/lib/log";
import { identityFrom } from "../../../src/request/identity";
import { Routing, routeOf } from "../../../src/request/route";

const table: DispatchTable = new Map([
  ["vbarzin", { user: "vbarzin", osUser: "vbarzin", port: 4001 }],
  ["ann@gmail.com", { user: "ann@gmail.com", osUser: "ann", port: 4002 }],
]);
const to = (claimed: string, domains: string[]) => {
  const identity = identityFrom(claimed);
  if (identity instanceof DispatchError) throw identity;
  const routed = routeOf(table, identity, domains);
  return routed instanceof DispatchError ? routed.kind : routed.port;
};

describe("routeOf", () => {
  test("a full-identity key matches that identity only", () => {
    expect(to("Ann@Gmail.com", ["example.com"])).toBe(4002);
    expect(to("ann@example.com", ["example.com"])).toBe("not_provisioned");
    expect(to("ann", [])).toBe("not_provisioned");
  });

  test("a local-part key: any domain without identityDomains, only listed domains with it", () => {
    expect(to("vbarzin@anything.example", [])).toBe(4001);
    expect(to("vbarzin@example.com", ["example.com"])).toBe(4001);
    expect(to("vbarzin@anything.example", ["example.com"])).toBe("not_provisioned");
    expect(to("vbarzin", ["example.com"])).toBe(4001);
  });
});

describe("Routing.reload", () => {
  const tableOf = (port: number): DispatchTable => new Map([["vbarzin", { user: "vbarzin", osUser: "vbarzin", port }]]);
  const portOf = (routing: Routing) => {
    const identity = identityFrom("vbarzin");
    if (identity instanceof DispatchError) throw identity;
    const routed = routing.route(identity);
    return routed instanceof DispatchError ? routed.kind : routed.port;
  };

  test("a slow read of the older file never lands after the newer one", async () => {
    // The "file" holds port 4001, then 4002; reading 4001 is slow, reading 4002 fast.
    let file = 4001;
    const reads: number[] = [];
    let firstStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const read = async () => {
      const port = file;
      reads.push(port);
      firstStarted();
      await Bun.sleep(port === 4001 ? 80 : 1);
      return tableOf(port);
    };
    const routing = new Routing("dispatch.json", tableOf(4000), memoryLogger(), { read });
    const older = routing.reload();
    await started; // the poll's read is under way when the file changes and SIGHUP comes
    file = 4002;
    const newer = routing.reload();
    expect(await Promise.all([older, newer])).toEqual([true, true]);
    expect({ reads, port: portOf(routing) }).toEqual({ reads: [4001, 4002], port: 4002 });
  });

  test("calls while a reload waits join it: one more read, of the newest file", async () => {
    let reads = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => {};
    const underWay = new Promise<void>((resolve) => {
      started = resolve;
    });
    // The first read is held until the test lets it go; later ones answer at once.
    const read = async () => {
      const n = ++reads;
      if (n === 1) {
        started();
        await held;
      }
      return tableOf(4000 + n);
    };
    const routing = new Routing("dispatch.json", tableOf(4000), memoryLogger(), { read });
    const first = routing.reload();
    await underWay;
    const joined = [routing.reload(), routing.reload(), routing.reload()];
    expect(joined[0]).toBe(joined[2]);
    release();
    await Promise.all([first, ...joined]);
    expect({ reads, port: portOf(routing) }).toEqual({ reads: 2, port: 4002 });
  });

  test("a failed read keeps the last good table and is logged once", async () => {
    const log = memoryLogger();
    const outcomes: boolean[] = [];
    const routing = new Routing("dispatch.json", tableOf(4001), log, {
      read: async () => new Invalid(["vbarzin: port must be an integer"]),
      onReload: (ok) => outcomes.push(ok),
    });
    expect(await routing.reload()).toBe(false);
    expect(portOf(routing)).toBe(4001);
    expect(outcomes).toEqual([false]);
    expect(log.lines.filter((line) => line.event === "table_reload_failed")).toHaveLength(1);
  });
});
