// Idle stop. The dispatcher sees all of a person's traffic, so activity is
// what it forwards: answered requests and WebSocket frames either way (an
// open socket with nothing on it is not activity). An instance busy on its
// own (an agent finishing, a build with no browser open) is not idle either:
// its unit's CPU time, from the wrapper's status, counts as activity when it
// exceeds cpuShare of one CPU between two sweeps. An instance that is
// starting, or started (or was last used) less than idleTimeout ago, is
// never stopped; a stop goes through the wrapper and its next visit starts
// it again through the progress page. Its CPU is first sampled one sweep
// before idleTimeout, so the stop comes at the first sweep after it: between
// idleTimeout and idleTimeout + one sweep since the last use.
import type { Instance } from "../../config/table";
import type { Logger } from "../../lib/log";
import type { Metrics } from "../metrics";
import { ControlFailed, type InstanceControl } from "./control";

/** How often the sweep looks: a quarter of idleTimeout, between 250 ms and a minute. */
export const sweepEvery = (idleTimeoutMs: number): number => Math.min(Math.max(idleTimeoutMs / 4, 250), 60_000);

/** When each os_user's instance was last used (one map write per request or frame). */
export class Activity {
  private readonly last = new Map<string, number>();

  touch(osUser: string, at = Date.now()): void {
    this.last.set(osUser, at);
  }

  since(osUser: string): number | undefined {
    return this.last.get(osUser);
  }
}

export interface IdleDeps {
  idleTimeoutMs: number;
  /** Between two sweeps (sweepEvery): the CPU is sampled from this long before idleTimeout. */
  sweepMs: number;
  /** A share of one CPU (0.02 = 2 %) above which an instance is busy on its own. */
  cpuShare: number;
  control: Pick<InstanceControl, "status" | "stop">;
  /** The table's instances now. */
  instances(): Iterable<Instance>;
  /** Is its own account listening on its port (judged on the shared snapshot)? */
  listening(instance: Instance): boolean;
  /** Is it starting, or is its failed start still shown? */
  starting(osUser: string): boolean;
  /** It was stopped: what was cached about its sessions is void. */
  stopped(instance: Instance): void;
  metrics: Pick<Metrics, "stops">;
  log: Logger;
}

export class IdleSweep {
  /** os_user → its unit's CPU time at the last sweep that found it idle. */
  private readonly cpu = new Map<string, { at: number; usec: number }>();
  /** Instances whose wrapper call failed and was logged: logged again only after one worked. */
  private readonly failing = new Set<string>();
  /** Instances whose CPU time is unknown (no accounting), logged once: they are kept, never judged idle. */
  private readonly blind = new Set<string>();
  private running = false;

  constructor(
    private readonly deps: IdleDeps,
    private readonly activity: Activity,
    /** Nothing is idle for longer than the dispatcher has been watching. */
    private readonly watchingSince = Date.now(),
  ) {}

  /** Sweeps every `sweepEvery(idleTimeout)`; the returned function stops it. */
  every(intervalMs: number): () => void {
    const timer = setInterval(() => void this.sweep(), intervalMs);
    return () => clearInterval(timer);
  }

  /** One look at every instance; a sweep still running skips the next. */
  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const seen = new Set<string>();
      for (const instance of this.deps.instances()) {
        if (seen.has(instance.osUser)) continue; // two table entries, one instance
        seen.add(instance.osUser);
        await this.consider(instance);
      }
    } finally {
      this.running = false;
    }
  }

  private idleFor(osUser: string, now: number): number {
    return now - (this.activity.since(osUser) ?? this.watchingSince);
  }

  private async consider(instance: Instance): Promise<void> {
    const { osUser } = instance;
    const now = Date.now();
    const idleMs = this.idleFor(osUser, now);
    const sampling = idleMs >= this.deps.idleTimeoutMs - this.deps.sweepMs;
    if (!sampling || this.deps.starting(osUser) || !this.deps.listening(instance)) {
      this.cpu.delete(osUser);
      return;
    }
    const status = await this.deps.control.status(osUser);
    if (status instanceof ControlFailed) return this.failed(instance, status);
    this.failing.delete(osUser);
    if (status.active !== "active") return;
    if (status.cpu_usec === null) return this.cannotJudge(instance);
    this.blind.delete(osUser);
    const before = this.cpu.get(osUser);
    this.cpu.set(osUser, { at: now, usec: status.cpu_usec });
    if (before === undefined) return; // one sample: its CPU share is known at the next sweep
    const share = (status.cpu_usec - before.usec) / 1000 / Math.max(1, now - before.at);
    if (share > this.deps.cpuShare) {
      this.activity.touch(osUser, now);
      this.deps.log.log("info", "instance_busy_alone", { user: instance.user, os_user: osUser, cpu_share: share });
      return;
    }
    if (idleMs < this.deps.idleTimeoutMs) return; // sampled a sweep ahead
    // A request that came in while the status was asked wins over the sweep.
    if (this.idleFor(osUser, Date.now()) < this.deps.idleTimeoutMs || this.deps.starting(osUser)) return;
    await this.stop(instance, idleMs);
  }

  private async stop(instance: Instance, idleMs: number): Promise<void> {
    const stopped = await this.deps.control.stop(instance.osUser);
    if (stopped) return this.failed(instance, stopped);
    this.cpu.delete(instance.osUser);
    this.deps.stopped(instance);
    this.deps.metrics.stops.inc("idle");
    this.deps.log.log("info", "instance_idle_stopped", {
      user: instance.user,
      os_user: instance.osUser,
      idle_s: Math.round(idleMs / 1000),
    });
  }

  /** Without its CPU time an agent at work looks idle: kept, and the operator told once why it is never stopped. */
  private cannotJudge(instance: Instance): void {
    if (this.blind.has(instance.osUser)) return;
    this.blind.add(instance.osUser);
    this.deps.log.log("warn", "instance_cpu_unknown", {
      user: instance.user,
      os_user: instance.osUser,
      detail: "the wrapper's status has no CPU time (CPUAccounting off?): it is not stopped for idleness",
    });
  }

  private failed(instance: Instance, failure: ControlFailed): void {
    if (this.failing.has(instance.osUser)) return;
    this.failing.add(instance.osUser);
    this.deps.log.log("error", `instance_${failure.verb}_failed`, {
      user: instance.user,
      os_user: instance.osUser,
      detail: failure.detail,
      output: failure.output,
    });
  }
}
