// What the settings make for the ops subcommands: the health check's,
// backup's and restore's dependencies, and the state databases of the
// table's instances. healthcheck, backup, restore and autoupdate share them.
import type { Settings } from "../config/settings";
import type { Instance } from "../config/table";
import type { BackupOptions } from "../ops/backup";
import type { HealthDeps } from "../ops/healthcheck";
import type { RestoreOptions } from "../ops/restore";
import { NoStateDb, type StateDbTarget, stateDbTargets } from "../ops/state-db";
import { Accounts } from "../request/instance/accounts";
import { selfCommand } from "../runtime/bun/self";
import { runtime } from "../runtime/current";
import { instancesFor, minterFor } from "../server/wiring";

export function backupOptions(settings: Settings, overrides: { dest?: string; keep?: number } = {}): BackupOptions {
  return {
    dest: overrides.dest ?? settings.ops.backupDir,
    keep: overrides.keep ?? settings.ops.backupKeep,
    timeoutMs: settings.ops.backupTimeoutMs,
    snapshotCommand: [...selfCommand(), "snapshot-db"],
    run: runtime.runCommand,
  };
}

export function restoreOptions(settings: Settings): RestoreOptions {
  return {
    restoreCommand: [...selfCommand(), "restore-db"],
    timeoutMs: settings.ops.backupTimeoutMs,
    run: runtime.runCommand,
  };
}

/** The instances' state databases, and the instances whose database cannot be found. */
export function targetsOf(settings: Settings, instances: Instance[]) {
  const found = stateDbTargets(instances, settings.ops.stateDb, new Accounts(settings.accountsFile));
  return {
    targets: found.filter((t): t is StateDbTarget => !(t instanceof NoStateDb)),
    missing: found.filter((t) => t instanceof NoStateDb),
  };
}

/** The instances whose database cannot be found, for one line of the command's refusal. */
export const unfound = (missing: readonly NoStateDb[]): string =>
  missing.map((m) => `${m.user}: ${m.detail}`).join("; ");

export function healthDeps(settings: Settings): HealthDeps {
  return {
    instances: instancesFor(settings, { onImpostor() {}, onReplaced() {} }),
    mint: minterFor(settings),
    probeWebSocket: runtime.probeWebSocket,
    upstreamHost: settings.upstreamHost,
    timeoutMs: settings.ops.healthTimeoutMs,
  };
}
