// How a start runs, step by step, within startTimeout (counted from when it
// gets its slot): the wrapper's `start`, then polling until the port is
// held, judging the holder (nothing is sent to a listener before it is
// judged the account's), then until the instance answers its session check:
// ready means answering, not listening. A failure ends the start at the step
// that was running; the operator's log gets the wrapper's output and the
// unit's last journal lines, and the unit is stopped. Nothing retries.
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { Genuineness } from "../instance/check";
import { ControlFailed, type InstanceControl } from "./control";
import type { Slots } from "./slots";
import type { Start } from "./start";

export interface StartDeps {
  control: InstanceControl;
  slots: Slots;
  /** Who holds the instance's port, asked of /proc now. */
  genuine(instance: Start["instance"]): Genuineness;
  /** Does the instance answer (its session check)? */
  answers(instance: Start["instance"]): Promise<boolean>;
  timeoutMs: number;
  /** Between two looks at the port or two session checks: bounds the /proc reads to 1000/pollMs per start. */
  pollMs: number;
  /** Between two looks at the unit's state while nothing listens yet (a wrapper call each: sudo, systemctl). */
  unitLookMs: number;
  log: Logger;
  observe(outcome: "ready" | "failed", ms: number): void;
}

interface StepFailed {
  reason: string;
  output?: string;
}

const HELD = Symbol("held");
const UNIT_FAILED = Symbol("unit failed");

/** Calls `attempt` every `intervalMs` until it returns something, or undefined at the deadline. */
async function poll<T>(
  deadline: number,
  intervalMs: number,
  attempt: () => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

/** The steps after the slot; undefined when the instance answers. */
async function steps(start: Start, deps: StartDeps, deadline: number): Promise<StepFailed | undefined> {
  const { instance } = start;
  start.mark("requested", "running");
  const requested = await deps.control.start(instance.osUser);
  if (requested) return { reason: requested.detail, output: requested.output };
  start.mark("requested", "done");
  start.mark("listening", "running");
  let lookedAt = Date.now();
  const held = await poll(deadline, deps.pollMs, async () => {
    const genuineness = deps.genuine(instance);
    if (genuineness?.kind !== "upstream_down") return genuineness ?? HELD;
    // A t3 that exits at once is restarted by its unit until StartLimitBurst fails it: no need to wait out the start.
    if (Date.now() - lookedAt < deps.unitLookMs) return undefined;
    lookedAt = Date.now();
    const status = await deps.control.status(instance.osUser);
    return !(status instanceof ControlFailed) && status.active === "failed" ? UNIT_FAILED : undefined;
  });
  if (held === undefined) return { reason: `nothing listened on port ${instance.port} in time` };
  if (held === UNIT_FAILED) return { reason: `its unit failed before anything listened on port ${instance.port}` };
  start.mark("listening", "done");
  if (held instanceof DispatchError) return { reason: held.detail };
  start.mark("genuine", "done");
  return answering(start, deps, deadline);
}

/** The last step: until the instance answers its session check. */
async function answering(start: Start, deps: StartDeps, deadline: number): Promise<StepFailed | undefined> {
  const { instance } = start;
  start.mark("answering", "running");
  const answered = await poll(deadline, deps.pollMs, async () => {
    // Judged again before each session check: nothing goes to a listener that is not the account's.
    const genuineness = deps.genuine(instance);
    if (genuineness) return genuineness;
    return (await deps.answers(instance)) ? HELD : undefined;
  });
  if (answered === undefined)
    return {
      reason: `the instance did not answer on port ${instance.port} in time`,
    };
  if (answered instanceof DispatchError) return { reason: answered.detail };
  start.mark("answering", "done");
  return undefined;
}

/** Ends a failed start: the page shows it at once; then the journal for the log, and the unit is stopped. */
async function failed(start: Start, deps: StartDeps, failure: StepFailed, ms: number): Promise<void> {
  const { instance } = start;
  const step = start.current;
  start.end("failed");
  deps.observe("failed", ms);
  const status = await deps.control.status(instance.osUser);
  const stopped = step === "requested" ? undefined : await deps.control.stop(instance.osUser);
  deps.log.log("error", "instance_start_failed", {
    request_id: start.requestId,
    user: instance.user,
    os_user: instance.osUser,
    step,
    reason: failure.reason,
    ms,
    output: failure.output,
    journal: "journal" in status ? status.journal.join("\n") : status.detail,
    stop: stopped?.detail,
  });
}

/**
 * An instance that came back by someone else's hand (a restart, an update):
 * it listens and was judged genuine; it is ready once it answers. Failing
 * shows the failure but stops nothing (the dispatcher did not start it).
 */
export async function warmUp(start: Start, deps: StartDeps): Promise<void> {
  start.dequeue();
  for (const step of ["requested", "listening", "genuine"] as const) start.mark(step, "done");
  const failure = await answering(start, deps, Date.now() + deps.timeoutMs);
  start.end(failure ? "failed" : "ready");
  const { user, osUser } = start.instance;
  if (failure)
    deps.log.log("warn", "instance_not_answering", {
      request_id: start.requestId,
      user,
      os_user: osUser,
      reason: failure.reason,
    });
}

/** Runs `start` to its end (ready or failed); never throws, never retries. */
export async function runStart(start: Start, deps: StartDeps): Promise<void> {
  // A free slot is taken at once, before the first page renders: it must not say "waiting for a slot".
  const slot = deps.slots.acquire();
  if (slot) await slot;
  start.dequeue();
  const began = Date.now();
  try {
    const failure = await steps(start, deps, began + deps.timeoutMs);
    const ms = Date.now() - began;
    if (failure) return await failed(start, deps, failure, ms);
    start.end("ready");
    deps.observe("ready", ms);
    const { user, osUser } = start.instance;
    deps.log.log("info", "instance_started", {
      request_id: start.requestId,
      user,
      os_user: osUser,
      ms,
    });
  } finally {
    deps.slots.release();
  }
}
