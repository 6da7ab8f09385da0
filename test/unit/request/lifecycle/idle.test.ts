// Idle stop, with the wrapper and the instances as functions the test sets:
// no traffic for idleTimeout and two CPU samples under the threshold stop an
// instance; use, CPU of its own, a start under way or a stopped unit do not;
// a failing wrapper is logged once, not every sweep.
import { describe, expect, test } from "bun:test";
import { memoryLogger } from "../../../../src/lib/log";
import { ControlFailed, type InstanceStatus } from "../../../../src/request/lifecycle/control";
import { Activity, type IdleDeps, IdleSweep, sweepEvery } from "../../../../src/request/lifecycle/idle";
import { Metrics } from "../../../../src/request/metrics";

const bob = { user: "bob", osUser: "bob", port: 4000 };
const IDLE_MS = 40;
const SWEEP_MS = 10;

function sweeper(
  options: { cpuPerSweepUsec?: number; active?: string; starting?: boolean; failing?: boolean; blind?: boolean } = {},
) {
  let cpu = 0;
  const calls: string[] = [];
  const stopped: string[] = [];
  const log = memoryLogger();
  const metrics = new Metrics();
  const status = async (): Promise<InstanceStatus | ControlFailed> => {
    calls.push("status");
    if (options.failing) return new ControlFailed("status", "status bob exited 1", "sudo: a password is required");
    cpu += options.cpuPerSweepUsec ?? 0;
    const cpu_usec = options.blind ? null : cpu;
    return { unit: "u", active: options.active ?? "active", since: null, memory_bytes: 1, cpu_usec, journal: [] };
  };
  const deps: IdleDeps = {
    idleTimeoutMs: IDLE_MS,
    sweepMs: SWEEP_MS,
    cpuShare: 0.02,
    control: {
      status,
      async stop() {
        calls.push("stop");
        return undefined;
      },
    },
    instances: () => [bob, { ...bob, user: "bob@example.com" }], // two entries, one instance
    listening: () => true,
    starting: () => options.starting ?? false,
    stopped: (instance) => void stopped.push(instance.osUser),
    metrics,
    log,
  };
  const activity = new Activity();
  return { sweep: new IdleSweep(deps, activity), activity, calls, stopped, log, metrics };
}

describe("IdleSweep", () => {
  test("idle for idleTimeout and quiet on CPU: one sample, then stopped, logged, counted, sessions forgotten", async () => {
    const { sweep, calls, stopped, log, metrics } = sweeper({ cpuPerSweepUsec: 100 });
    await sweep.sweep();
    expect(calls).toEqual([]); // not idle long enough: nothing asked
    await Bun.sleep(IDLE_MS + 5);
    await sweep.sweep();
    expect(calls).toEqual(["status"]); // the first CPU sample
    await Bun.sleep(10);
    await sweep.sweep();
    expect([calls, stopped]).toEqual([["status", "status", "stop"], ["bob"]]);
    expect(log.lines.find((l) => l.event === "instance_idle_stopped")).toMatchObject({ user: "bob", os_user: "bob" });
    expect(metrics.stops.get("idle")).toBe(1);
  });

  test("sampled one sweep ahead: stopped at the first sweep past idleTimeout, not one later", async () => {
    const { sweep, calls, stopped } = sweeper({ cpuPerSweepUsec: 10 });
    await Bun.sleep(IDLE_MS - SWEEP_MS + 2);
    await sweep.sweep();
    expect([calls, stopped]).toEqual([["status"], []]); // sampled, not yet idle for idleTimeout
    await Bun.sleep(SWEEP_MS);
    await sweep.sweep();
    expect([calls, stopped]).toEqual([["status", "status", "stop"], ["bob"]]);
  });

  test("no CPU time in the status (accounting off): kept, and said once, not every sweep", async () => {
    const { sweep, calls, stopped, log } = sweeper({ blind: true });
    await Bun.sleep(IDLE_MS + 5);
    for (let i = 0; i < 3; i++) {
      await sweep.sweep();
      await Bun.sleep(SWEEP_MS);
    }
    expect([calls.filter((c) => c === "stop"), stopped]).toEqual([[], []]);
    expect(log.lines.filter((l) => l.event === "instance_cpu_unknown")).toEqual([
      expect.objectContaining({ level: "warn", user: "bob", os_user: "bob" }),
    ]);
  });

  test("traffic keeps it: a request or a frame within idleTimeout", async () => {
    const { sweep, activity, calls } = sweeper();
    for (let i = 0; i < 4; i++) {
      activity.touch("bob");
      await Bun.sleep(IDLE_MS / 2);
      await sweep.sweep();
    }
    expect(calls).toEqual([]);
  });

  test("busy on its own (CPU above the threshold between two sweeps) counts as use", async () => {
    const { sweep, calls, log } = sweeper({ cpuPerSweepUsec: 5_000 }); // 5 ms of CPU in ~10 ms: 50 %
    await Bun.sleep(IDLE_MS + 5);
    await sweep.sweep();
    await Bun.sleep(10);
    await sweep.sweep();
    expect(calls).toEqual(["status", "status"]);
    expect(log.lines.some((l) => l.event === "instance_busy_alone")).toBe(true);
    await sweep.sweep(); // and it is not idle again until idleTimeout has passed
    expect(calls.length).toBe(2);
  });

  test("a start under way, or a unit that is not active, is never stopped", async () => {
    for (const options of [{ starting: true }, { active: "inactive" }]) {
      const { sweep, calls } = sweeper(options);
      await Bun.sleep(IDLE_MS + 5);
      await sweep.sweep();
      await sweep.sweep();
      expect(calls.includes("stop")).toBe(false);
    }
  });

  test("a wrapper that fails is logged once, not at every sweep", async () => {
    const { sweep, log } = sweeper({ failing: true });
    await Bun.sleep(IDLE_MS + 5);
    for (let i = 0; i < 3; i++) await sweep.sweep();
    expect(log.lines.filter((l) => l.event === "instance_status_failed").length).toBe(1);
  });

  test("the sweep looks every quarter of idleTimeout, between 250 ms and a minute", () => {
    expect([sweepEvery(100), sweepEvery(4000), sweepEvery(3_600_000)]).toEqual([250, 1000, 60_000]);
  });
});
