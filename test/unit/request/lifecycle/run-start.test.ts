// How a start runs, with the wrapper, the port and the instance's answers as
// functions the test sets: the steps in order, a slot per start, each failure
// at its step with the journal in the log and the unit stopped (unless the
// wrapper's start itself failed), and a warm-up that only waits for answers.
import { describe, expect, test } from "bun:test";
import { memoryLogger } from "../../../../src/lib/log";
import { InstanceDown, InstanceImpostor } from "../../../../src/request/instance/check";
import { ControlFailed, type InstanceStatus } from "../../../../src/request/lifecycle/control";
import { runStart, type StartDeps, warmUp } from "../../../../src/request/lifecycle/run-start";
import { Slots } from "../../../../src/request/lifecycle/slots";
import { Start } from "../../../../src/request/lifecycle/start";

const instance = { user: "bob", osUser: "bob", port: 4000 };
const STATUS: InstanceStatus = {
  unit: "t3-serve@bob.service",
  active: "active",
  since: null,
  memory_bytes: null,
  cpu_usec: null,
  journal: ["line 1", "line 2"],
};

/** A host where the port is held after `listensAfter` looks and answers after `answersAfter` session checks. */
function host(options: {
  listensAfter?: number;
  answersAfter?: number;
  holder?: "bob" | "eve";
  refuse?: boolean;
  unit?: string;
}) {
  const calls: string[] = [];
  let looks = 0;
  let checks = 0;
  const outcomes: string[] = [];
  const log = memoryLogger();
  const deps: StartDeps = {
    control: {
      async start() {
        calls.push("start");
        return options.refuse ? new ControlFailed("start", "start bob exited 70", "Job failed") : undefined;
      },
      async stop() {
        calls.push("stop");
        return undefined;
      },
      async status() {
        calls.push("status");
        return { ...STATUS, active: options.unit ?? STATUS.active };
      },
    },
    slots: new Slots(1),
    genuine() {
      looks++;
      if (looks <= (options.listensAfter ?? 0)) return new InstanceDown(instance);
      return options.holder === "eve" ? new InstanceImpostor(instance, 1002, 1001) : undefined;
    },
    async answers() {
      checks++;
      return checks > (options.answersAfter ?? 0);
    },
    timeoutMs: 300,
    pollMs: 10,
    unitLookMs: 20,
    log,
    observe: (outcome) => void outcomes.push(outcome),
  };
  return { deps, calls, log, outcomes };
}

describe("runStart", () => {
  test("ready: requested, listening, genuine, answering, in that order; the slot is given back", async () => {
    const { deps, calls, log, outcomes } = host({ listensAfter: 2, answersAfter: 2 });
    const start = new Start(instance, "r-1");
    const running: string[] = [];
    start.watch((s) => running.push(`${s.current}:${s.current ? s.steps[s.current] : ""}`));
    await runStart(start, deps);
    expect([start.outcome, calls, outcomes]).toEqual(["ready", ["start"], ["ready"]]);
    expect([...new Set(running)]).toEqual([
      "requested:pending",
      "requested:running",
      "listening:pending",
      "listening:running",
      "genuine:pending",
      "answering:pending",
      "answering:running",
      "undefined:",
    ]);
    expect(log.lines.find((l) => l.event === "instance_started")).toMatchObject({ request_id: "r-1", user: "bob" });
    expect(deps.slots.queued).toBe(0);
    expect(deps.slots.acquire()).toBeUndefined(); // free again
  });

  test("a free slot is taken before runStart first yields: the first page does not say it waits for one", async () => {
    const { deps } = host({ answersAfter: 1 });
    const start = new Start(instance, "r-1");
    const running = runStart(start, deps);
    expect(start.queued).toBe(false);
    await running;
  });

  test("a second start waits for the slot, queued, while the first runs", async () => {
    const { deps } = host({ answersAfter: 3 });
    const first = new Start(instance, "r-1");
    const second = new Start({ ...instance, user: "carol", osUser: "carol" }, "r-2");
    const one = runStart(first, deps);
    const two = runStart(second, deps);
    await Bun.sleep(5);
    expect([first.queued, second.queued]).toEqual([false, true]);
    await Promise.all([one, two]);
    expect([first.outcome, second.outcome]).toEqual(["ready", "ready"]);
  });

  test("the wrapper refuses: failed at 'requested', its output in the log, nothing to stop", async () => {
    const { deps, calls, log } = host({ refuse: true });
    const start = new Start(instance, "r-3");
    await runStart(start, deps);
    expect([start.outcome, start.failedStep, calls]).toEqual(["failed", "requested", ["start", "status"]]);
    expect(log.lines.find((l) => l.event === "instance_start_failed")).toMatchObject({
      request_id: "r-3",
      step: "requested",
      output: "Job failed",
      journal: "line 1\nline 2",
    });
  });

  test("never listens: failed at 'listening' at the timeout, and the unit is stopped", async () => {
    const { deps, calls, outcomes } = host({ listensAfter: 1_000_000 });
    deps.unitLookMs = 1_000_000; // its unit is not looked at while nothing listens (an active unit changes nothing)
    const start = new Start(instance, "r-4");
    const began = Date.now();
    await runStart(start, deps);
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect([start.failedStep, calls, outcomes]).toEqual(["listening", ["start", "status", "stop"], ["failed"]]);
  });

  test("another account holds the port: failed at 'genuine', no session check sent to it", async () => {
    const { deps } = host({ holder: "eve" });
    let asked = 0;
    deps.answers = async () => {
      asked++;
      return true;
    };
    const start = new Start(instance, "r-5");
    await runStart(start, deps);
    expect([start.failedStep, asked]).toEqual(["genuine", 0]);
  });

  test("listens but never answers: failed at 'answering'", async () => {
    const { deps } = host({ answersAfter: 1_000_000 });
    const start = new Start(instance, "r-6");
    await runStart(start, deps);
    expect(start.failedStep).toBe("answering");
  });
});

describe("a unit that fails before it listens", () => {
  test("the start ends at 'listening' as soon as the unit is failed, not at startTimeout", async () => {
    const { deps, log } = host({ listensAfter: 1_000_000, unit: "failed" });
    deps.timeoutMs = 10_000;
    const start = new Start(instance, "r-9");
    const began = Date.now();
    await runStart(start, deps);
    expect([start.outcome, start.failedStep]).toEqual(["failed", "listening"]);
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(log.lines.find((l) => l.event === "instance_start_failed")?.reason).toBe(
      "its unit failed before anything listened on port 4000",
    );
  });

  test("a unit restarting (activating) is waited on, as the start's own", async () => {
    const { deps } = host({ listensAfter: 5, unit: "activating" });
    const start = new Start(instance, "r-10");
    await runStart(start, deps);
    expect(start.outcome).toBe("ready");
  });
});

describe("warmUp", () => {
  test("an instance back by someone else's hand: ready once it answers; no start, no slot, no stop", async () => {
    const { deps, calls } = host({ answersAfter: 2 });
    expect(deps.slots.acquire()).toBeUndefined(); // every slot taken: a warm-up does not need one
    const start = new Start(instance, "r-7");
    await warmUp(start, deps);
    expect([start.outcome, calls]).toEqual(["ready", []]);
  });

  test("one that never answers is failed and logged, and left running", async () => {
    const { deps, calls, log } = host({ answersAfter: 1_000_000 });
    const start = new Start(instance, "r-8");
    await warmUp(start, deps);
    expect([start.failedStep, calls]).toEqual(["answering", []]);
    expect(log.lines.some((l) => l.event === "instance_not_answering")).toBe(true);
  });
});
