// Online backups of each instance's state database. Each database is copied by
// a child process (VACUUM INTO a temporary file, integrity_check, fsync) with a
// timeout, so one hanging database cannot stop the others. Only a verified copy
// is renamed into place, and only then are old backups pruned: a failed or
// interrupted backup never replaces or deletes a good one.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../mint";
import { fsyncPath } from "../runtime/sqlite";
import type { StateDbTarget } from "./state-db";

export interface BackupOptions {
  /** Backups go to `<dest>/<user>/state-<UTC timestamp>.sqlite`. */
  dest: string;
  /** How many backups to keep per user; 0 keeps all (the pre-update backups). */
  keep: number;
  timeoutMs: number;
  /** argv prefix of the `snapshot-db` subcommand (this program, run as a child). */
  snapshotCommand: string[];
  run: CommandRunner;
}

export interface BackupResult {
  user: string;
  db: string;
  ok: boolean;
  file?: string;
  bytes?: number;
  ms: number;
  error?: string;
}

const BACKUP_NAME = /^state-\d{8}T\d{9}Z(-\d+)?\.sqlite$/;

/** A UTC timestamp for file names: 20261122T093000123Z. */
export const stamp = (): string => new Date().toISOString().replace(/[-:.]/g, "");

/** A name no earlier backup has, even within one millisecond. */
function freshName(dir: string): string {
  const base = `state-${stamp()}`;
  let name = `${base}.sqlite`;
  for (let i = 1; existsSync(join(dir, name)); i++) name = `${base}-${i}.sqlite`;
  return name;
}

/** Backups of one user, oldest first. */
export function listBackups(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => BACKUP_NAME.test(name))
    .sort();
}

export async function backupOne(target: StateDbTarget, options: BackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const dir = join(options.dest, target.user);
  const done = (fields: Partial<BackupResult>): BackupResult => ({
    user: target.user,
    db: target.db,
    ok: false,
    ms: Math.round(performance.now() - started),
    ...fields,
  });
  if (!existsSync(target.db)) return done({ error: `no database at ${target.db}` });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Leftovers of an interrupted run are never backups.
  for (const name of readdirSync(dir)) if (name.endsWith(".partial")) rmSync(join(dir, name), { force: true });

  const name = freshName(dir);
  const partial = join(dir, `.${name}.partial`);
  const result = await options.run(
    [...options.snapshotCommand, "--db", target.db, "--out", partial, "--busy-timeout", String(options.timeoutMs)],
    options.timeoutMs,
  );
  if (result.timedOut || result.exitCode !== 0) {
    rmSync(partial, { force: true });
    const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.stderr.trim().slice(0, 300);
    return done({ error: why || `snapshot exited ${result.exitCode}` });
  }
  chmodSync(partial, 0o600);
  const file = join(dir, name);
  renameSync(partial, file);
  fsyncPath(dir);
  if (options.keep > 0) {
    for (const old of listBackups(dir).slice(0, -options.keep)) rmSync(join(dir, old), { force: true });
  }
  return done({ ok: true, file, bytes: statSync(file).size });
}

/** Backs up every target in turn; each is bounded, and a failure does not stop the rest. */
export async function backupAll(targets: StateDbTarget[], options: BackupOptions): Promise<BackupResult[]> {
  const results: BackupResult[] = [];
  for (const target of targets) results.push(await backupOne(target, options));
  return results;
}

export function formatBackups(results: BackupResult[]): string {
  const lines = results.map((r) =>
    r.ok ? `ok     ${r.user}: ${r.file} (${r.bytes} bytes, ${r.ms} ms)` : `FAILED ${r.user}: ${r.db}: ${r.error}`,
  );
  const failed = results.filter((r) => !r.ok).map((r) => r.user);
  lines.push(
    `${results.length - failed.length} of ${results.length} backed up${failed.length ? `; failed: ${failed.join(", ")}` : ""}`,
  );
  return lines.join("\n");
}
