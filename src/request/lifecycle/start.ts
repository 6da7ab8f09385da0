// One start of one instance, as the person watches it: the steps (start
// requested, listening, genuine, answering), each pending, running, done or
// failed, and whoever watches them (the progress page's event stream).
// Concurrent visits join the same Start; nothing here runs a command.
import type { Instance } from "../../config/table";

export const STEPS = ["requested", "listening", "genuine", "answering"] as const;
export type StepName = (typeof STEPS)[number];
export type StepState = "pending" | "running" | "done" | "failed";
export type Outcome = "starting" | "ready" | "failed";

export class Start {
  readonly steps: Record<StepName, StepState> = {
    requested: "pending",
    listening: "pending",
    genuine: "pending",
    answering: "pending",
  };
  outcome: Outcome = "starting";
  /** Waiting for a start slot (maxConcurrentStarts). */
  queued = true;
  /** Date.now() when it ended (ready or failed). */
  endedAt: number | undefined;
  private readonly watchers = new Set<(start: Start) => void>();

  constructor(
    readonly instance: Instance,
    /** The request that asked for it: its id is in the operator's log and on the failure page. */
    readonly requestId: string,
    readonly beganAt = Date.now(),
  ) {}

  /** Calls back on every change until the start ends; the returned function stops watching. */
  watch(watcher: (start: Start) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  dequeue(): void {
    this.queued = false;
    this.notify();
  }

  mark(step: StepName, state: StepState): void {
    this.steps[step] = state;
    this.notify();
  }

  /** The step that is running now (or the first not done). */
  get current(): StepName | undefined {
    return STEPS.find((step) => this.steps[step] !== "done");
  }

  /** Ends the start: ready, or failed at the step that was running. */
  end(outcome: "ready" | "failed"): void {
    if (outcome === "failed") {
      const step = this.current;
      if (step) this.steps[step] = "failed";
    }
    this.outcome = outcome;
    this.endedAt = Date.now();
    this.notify();
    this.watchers.clear();
  }

  get failedStep(): StepName | undefined {
    return STEPS.find((step) => this.steps[step] === "failed");
  }

  private notify(): void {
    for (const watcher of this.watchers) watcher(this);
  }
}
