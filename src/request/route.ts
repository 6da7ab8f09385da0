// identity → instance. A full identity (`vbarzin@gmail.com`) matches its own
// key exactly; its local part (`vbarzin`) matches only when the identity has no
// domain, or its domain is in `identityDomains` (when that is set).
// Reloaded by a poll, a file watch and SIGHUP; the table is swapped whole (one reference assignment), so a
// request sees either the old table or the new one, never a mix. A reload that
// fails keeps the last good table and says why. Reloads run one at a time, so a
// slow read of an older file can never land after a newer one.
import type { DispatchTable, Instance } from "../config/table";
import { DispatchError, Invalid } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { Identity } from "./identity";

export interface RoutingOptions {
  onReload?: (ok: boolean) => void;
  /** Domains whose identities may use a local-part key; empty: any domain. */
  domains?: readonly string[];
  /** Reads and checks the file (against the fleet's hosts). */
  read: (path: string) => Promise<DispatchTable | Invalid>;
}

export class Routing {
  private table: DispatchTable;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly onReload: (ok: boolean) => void;
  private readonly domains: readonly string[];
  private readonly read: (path: string) => Promise<DispatchTable | Invalid>;
  /** The last reload in line, and the one not yet started (which will read the newest file). */
  private last: Promise<boolean> = Promise.resolve(true);
  private waiting: Promise<boolean> | undefined;

  constructor(
    private readonly path: string,
    initial: DispatchTable,
    private readonly log: Logger,
    options: RoutingOptions,
  ) {
    this.table = initial;
    this.onReload = options.onReload ?? (() => {});
    this.domains = options.domains ?? [];
    this.read = options.read;
  }

  /** The identity's instance, or not_provisioned. */
  route(identity: Identity): Instance | DispatchError {
    return routeOf(this.table, identity, this.domains);
  }

  get size(): number {
    return this.table.size;
  }

  /** The current table's instances on this host (the ones it starts, stops and counts). */
  *instances(): Iterable<Instance> {
    for (const instance of this.table.values()) if (instance.host === undefined) yield instance;
  }

  /**
   * Re-reads the file after any reload under way; a call while one is already
   * waiting joins it. On any problem the current table stays. Returns whether it swapped.
   */
  reload(): Promise<boolean> {
    if (this.waiting) return this.waiting;
    const next = this.last.then(() => {
      this.waiting = undefined;
      return this.readAndSwap();
    });
    this.waiting = next;
    this.last = next.catch(() => false);
    return next;
  }

  private async readAndSwap(): Promise<boolean> {
    const table = await this.read(this.path);
    this.onReload(!(table instanceof Invalid));
    if (table instanceof Invalid) {
      this.log.log("error", "table_reload_failed", { path: this.path, errors: table.problems, kept: this.table.size });
      return false;
    }
    this.table = table;
    this.log.log("debug", "table_reloaded", { path: this.path, users: table.size });
    return true;
  }

  startPolling(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function routeOf(
  table: DispatchTable,
  identity: Identity,
  domains: readonly string[],
): Instance | DispatchError {
  const exact = table.get(identity.full);
  if (exact) return exact;
  const local = identity.domain === undefined || domains.length === 0 || domains.includes(identity.domain);
  const byLocal = local ? table.get(identity.local) : undefined;
  if (byLocal) return byLocal;
  const why = local ? "no dispatch entry" : `domain ${identity.domain} is not in identityDomains`;
  return new DispatchError("not_provisioned", `${why} for ${identity.full}`);
}
