// Stage: the instance's lifecycle, between the instance check and the session
// decision. An admitted person whose instance is not listening, or is
// starting, or has just come back and does not answer yet, waits: a
// navigation gets the progress page (and starts the instance if nothing
// does), its event stream is served on the reserved /_t3d/ path, and an API
// request or a WebSocket upgrade gets a 503 with Retry-After. One start per
// os_user at a time (every visit joins it), at most maxConcurrentStarts
// across the host. A failed start is shown for FAILED_SHOWN_MS and is not
// retried until someone visits again after that. A WebSocket whose instance
// is stopped is held by the dispatcher (held.ts) and wakes the instance when
// its client reports a person; the held sockets close once it answers.
import type { LifecycleSettings } from "../../config/settings";
import type { Instance } from "../../config/table";
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { SocketPeer } from "../../runtime/runtime";
import type { Admission } from "../admission";
import type { RequestRecord } from "../context";
import { type InstanceCheck, InstanceDown, InstanceImpostor } from "../instance/check";
import type { Metrics } from "../metrics";
import { newRequestId } from "../request-id";
import type { InstanceControl } from "./control";
import { FAILED_CLOSE, HeldSockets, READY_CLOSE } from "./held";
import { Activity, IdleSweep, sweepEvery } from "./idle";
import { runStart, type StartDeps, warmUp } from "./run-start";
import { Slots } from "./slots";
import { Start } from "./start";

/** The dispatcher's own paths: never forwarded to an instance. */
export const RESERVED_PREFIX = "/_t3d/";
/** The progress page's event stream. */
export const EVENTS_PATH = `${RESERVED_PREFIX}start/events`;

/** How long a failed start is shown to every visit before a visit may start the instance again. */
export const FAILED_SHOWN_MS = 30_000;

/** Between two looks at a starting instance (its port, then its session check). */
const POLL_MS = 200;
/** Between two looks at its unit's state while nothing listens yet. */
const UNIT_LOOK_MS = 2000;

/** The instance a refusal is about, when it is the port's holder that refused (down, or an impostor). */
const instanceOf = (refused: DispatchError): Instance | undefined =>
  refused instanceof InstanceDown || refused instanceof InstanceImpostor ? refused.instance : undefined;

/** The person waits on this start (a page or its event stream); `undefined`: nothing starts and nothing needs to. */
export class Waiting {
  constructor(
    readonly start: Start | undefined,
    readonly answer: "page" | "events",
    /** This request began the start (what it will need next can be prepared during it). */
    readonly began = false,
  ) {}
}

/** The 503 of a request a stopped instance does not start (only a navigation does). */
const stopped = (pathname: string): DispatchError =>
  new DispatchError("instance_stopped", `${pathname} while the instance is stopped`);

/** A WebSocket whose instance is stopped: held here (if its session is this person's) until a person wakes it. */
export class Asleep {
  constructor(readonly instance: Instance) {}

  /** What it gets when it may not be held: the 503 of a stopped instance. */
  refusal(pathname: string): DispatchError {
    return stopped(pathname);
  }
}

/** Go on (the instance), wait (the page or its events), hold the socket, or refuse. */
export type LifecycleVerdict = Instance | Waiting | Asleep | DispatchError;

export interface LifecycleDeps {
  settings: LifecycleSettings;
  control: InstanceControl;
  instances: Pick<InstanceCheck, "fresh" | "listening">;
  /** The table's instances now (for the idle sweep). */
  table(): Iterable<Instance>;
  /** Upgrades a browser's socket with `peer` at the other end (the runtime's holdWebSocket). */
  hold(server: unknown, request: Request, peer: SocketPeer): Response | DispatchError | undefined;
  /** Does the instance answer its session check? */
  answers(instance: Instance): Promise<boolean>;
  /** It was stopped for idleness: what was cached about its sessions is void. */
  stopped(instance: Instance): void;
  metrics: Pick<Metrics, "starts" | "startSeconds" | "stops">;
  log: Logger;
}

export class Lifecycle {
  /** os_user → its start, while it runs and while a failure is shown. */
  private readonly starts = new Map<string, Start>();
  private readonly run: StartDeps;
  private readonly activity = new Activity();
  private readonly idleStop: boolean;
  /** os_user → when the idle sweep stopped its instance: its listener's going is not news. */
  private readonly idleStopped = new Map<string, number>();
  private readonly held = new HeldSockets((instance, requestId) => this.wake(instance, requestId));

  constructor(private readonly deps: LifecycleDeps) {
    this.idleStop = deps.settings.idleTimeoutMs > 0;
    this.run = {
      control: deps.control,
      slots: new Slots(deps.settings.maxConcurrentStarts),
      genuine: (instance) => deps.instances.fresh(instance),
      answers: deps.answers,
      timeoutMs: deps.settings.startTimeoutMs,
      pollMs: POLL_MS,
      unitLookMs: UNIT_LOOK_MS,
      log: deps.log,
      observe(outcome, ms) {
        deps.metrics.starts.inc(outcome);
        deps.metrics.startSeconds.observe(ms / 1000);
      },
    };
  }

  /** A person's traffic reached the instance (an answered request, a frame): it is in use. Kept only for idle stop. */
  active(instance: Instance): void {
    if (this.idleStop) this.activity.touch(instance.osUser);
  }

  /** Stops instances idle for idleTimeout (none if it is 0); the returned function stops the sweep. */
  watchIdle(): () => void {
    const { settings, control, instances, metrics, log } = this.deps;
    if (!this.idleStop) return () => {};
    const every = sweepEvery(settings.idleTimeoutMs);
    const sweep = new IdleSweep(
      {
        idleTimeoutMs: settings.idleTimeoutMs,
        sweepMs: every,
        cpuShare: settings.idleCpuShare,
        control,
        instances: () => this.deps.table(),
        listening: (instance) => instances.listening(instance),
        starting: (osUser) => this.current(osUser) !== undefined,
        stopped: (instance) => {
          this.idleStopped.set(instance.osUser, Date.now());
          // Judged again now: a cached "genuine" must not send the next request to the port just closed.
          instances.fresh(instance);
          this.deps.stopped(instance);
        },
        metrics,
        log,
      },
      this.activity,
    );
    return sweep.every(every);
  }

  /** Did the idle sweep stop this instance just now (so its listener's going is that stop, not a crash)? */
  stoppedIdle(instance: Instance): boolean {
    const at = this.idleStopped.get(instance.osUser);
    return at !== undefined && Date.now() - at < FAILED_SHOWN_MS;
  }

  /**
   * The hot path is one map lookup: nothing starts for most requests. A start
   * under way is what the person waits on, whatever the port shows (another
   * account's listener then fails that start: they watch it, not a bare 502).
   * Nothing listening: a navigation starts the instance; anything else is told.
   */
  decide(record: RequestRecord, admitted: Admission): LifecycleVerdict {
    const instance = admitted instanceof DispatchError ? instanceOf(admitted) : admitted;
    if (instance === undefined) return admitted;
    this.active(instance); // whichever stage answers it: a page, a pairing, a socket opening
    const start = this.current(instance.osUser);
    if (start !== undefined) return this.waitOn(record, start);
    if (admitted instanceof InstanceImpostor) return admitted;
    if (record.url.pathname.startsWith(RESERVED_PREFIX)) return this.reserved(record, undefined);
    if (!(admitted instanceof InstanceDown)) return admitted;
    if (record.upgrade) return new Asleep(instance);
    if (!record.html) return stopped(record.url.pathname);
    return new Waiting(this.begin(instance, record.id, "navigation"), "page", true);
  }

  /** Holds a sleeping instance's WebSocket (its session was judged the person's): the 101, or why not. */
  hold(
    server: unknown,
    request: Request,
    record: RequestRecord,
    instance: Instance,
  ): Response | DispatchError | undefined {
    const peer = this.held.peer(instance, record.id);
    if (peer === undefined) return stopped(`${record.url.pathname} (held sockets at the limit)`);
    return this.deps.hold(server, request, peer);
  }

  /** A held socket's client reported a person: start the instance (unless a start runs, or failed just now). */
  private wake(instance: Instance, requestId: string): void {
    if (this.current(instance.osUser) !== undefined) return;
    // Already back (a start by someone else's hand the sweep has not seen): the sockets may reconnect now.
    if (this.deps.instances.listening(instance)) this.held.release(instance.osUser, READY_CLOSE);
    else this.begin(instance, requestId, "activity");
  }

  /** A new listener on the instance's port (it restarted, not by us): it is ready once it answers. */
  replaced(instance: Instance): void {
    if (this.starts.has(instance.osUser)) return;
    const start = new Start(instance, newRequestId());
    this.starts.set(instance.osUser, start);
    void warmUp(start, this.run).finally(() => this.settled(start));
  }

  /** The start of `osUser`, dropping one that is over (ready, or failed and shown long enough). */
  private current(osUser: string): Start | undefined {
    const start = this.starts.get(osUser);
    if (start?.endedAt === undefined) return start;
    if (start.outcome === "failed" && Date.now() - start.endedAt < FAILED_SHOWN_MS) return start;
    this.starts.delete(osUser);
    return undefined;
  }

  /** Starts the instance, for a navigation or for a held socket's person (`by`). */
  private begin(instance: Instance, requestId: string, by: "navigation" | "activity"): Start {
    this.idleStopped.delete(instance.osUser);
    const start = new Start(instance, requestId);
    this.starts.set(instance.osUser, start);
    this.run.log.log("info", "instance_start_requested", {
      request_id: requestId,
      user: instance.user,
      os_user: instance.osUser,
      by,
      queued: this.run.slots.queued,
    });
    void runStart(start, this.run).finally(() => this.settled(start));
    return start;
  }

  /**
   * A ready start is forgotten at once (the next request goes to the instance)
   * and counts as use; either way the held sockets are let go, to reconnect.
   */
  private settled(start: Start): void {
    const { osUser } = start.instance;
    this.held.release(osUser, start.outcome === "ready" ? READY_CLOSE : FAILED_CLOSE);
    if (start.outcome !== "ready") return;
    this.activity.touch(osUser);
    if (this.starts.get(start.instance.osUser) === start) this.starts.delete(start.instance.osUser);
  }

  private waitOn(record: RequestRecord, start: Start): LifecycleVerdict {
    if (record.url.pathname.startsWith(RESERVED_PREFIX)) return this.reserved(record, start);
    if (record.html) return new Waiting(start, "page");
    if (start.outcome === "failed") return new DispatchError("start_failed", `${record.url.pathname}: start failed`);
    return new DispatchError("instance_starting", `${record.url.pathname} while the instance starts`);
  }

  /** The reserved path: the event stream, or nothing else there. */
  private reserved(record: RequestRecord, start: Start | undefined): LifecycleVerdict {
    if (record.url.pathname === EVENTS_PATH) return new Waiting(start, "events");
    return new DispatchError("not_found", `${record.url.pathname} is reserved for the dispatcher`);
  }
}
