// Online backups of each instance's state database. Root never opens the
// user's file: the snapshot runs as the instance's account (VACUUM INTO a
// private temporary file, integrity_check, fsync), with a timeout, and writes
// the copy to a descriptor of root's own exclusive file in a root-only 0700
// directory. Only a complete copy is renamed into place, and only then are old
// backups pruned: a failed or interrupted backup never replaces or deletes a
// good one, and one failing database fails alone.
import { closeSync, fstatSync, fsyncSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Failure } from "../lib/errors";
import { fsyncPath } from "../runtime/bun/sqlite";
import type { CommandRunner } from "../runtime/command";
import { asAccount } from "./as-account";
import { OpsError } from "./ops-error";
import { createExclusive, ensurePrivateDir, hasSqliteHeader } from "./private-files";
import { stamp } from "./stamp";
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

/** One database backed up: where the copy is. */
export interface Backup {
  user: string;
  db: string;
  file: string;
  bytes: number;
  ms: number;
}

/** One database not backed up, and why (a good earlier backup stays). */
export class BackupFailed extends Failure<"backup_failed"> {
  constructor(
    readonly user: string,
    readonly db: string,
    detail: string,
    readonly ms = 0,
  ) {
    super("backup_failed", detail);
  }
}

export type BackupResult = Backup | BackupFailed;

/** A result as `backup --json` prints it. */
export const backupJson = (r: BackupResult) =>
  r instanceof BackupFailed
    ? { user: r.user, db: r.db, ok: false, ms: r.ms, error: r.detail }
    : { user: r.user, db: r.db, ok: true, file: r.file, bytes: r.bytes, ms: r.ms };

const BACKUP_NAME = /^state-\d{8}T\d{9}Z(-\d+)?\.sqlite$/;

/** A name no earlier backup has, even within one millisecond. */
function freshName(dir: string): string {
  const taken = new Set(readdirSync(dir));
  const base = `state-${stamp()}`;
  let name = `${base}.sqlite`;
  for (let i = 1; taken.has(name); i++) name = `${base}-${i}.sqlite`;
  return name;
}

/** Backups of one user, oldest first. */
export function listBackups(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => BACKUP_NAME.test(name))
      .sort();
  } catch {
    return [];
  }
}

/** What the child wrote is a whole SQLite file, on disk. */
function sealCopy(fd: number): number {
  fsyncSync(fd);
  if (!hasSqliteHeader(fd)) throw new OpsError("the snapshot is not an SQLite file");
  return fstatSync(fd).size;
}

async function snapshotInto(
  target: StateDbTarget,
  dir: string,
  options: BackupOptions,
): Promise<{ file: string; bytes: number }> {
  // Leftovers of an interrupted run are never backups.
  for (const name of readdirSync(dir)) if (name.endsWith(".partial")) rmSync(join(dir, name), { force: true });
  const name = freshName(dir);
  const partial = join(dir, `.${name}.partial`);
  const fd = createExclusive(partial);
  let bytes: number;
  try {
    const argv = [...options.snapshotCommand, "--db", target.db, "--busy-timeout", String(options.timeoutMs)];
    const child = asAccount(target, argv, { stdout: fd });
    const result = await options.run(child.argv, options.timeoutMs, child.io);
    if (result.timedOut) throw new OpsError(`timed out after ${options.timeoutMs} ms`);
    if (result.exitCode !== 0)
      throw new OpsError(result.stderr.trim().slice(0, 300) || `snapshot exited ${result.exitCode}`);
    bytes = sealCopy(fd);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
  const file = join(dir, name);
  renameSync(partial, file);
  fsyncPath(dir);
  return { file, bytes };
}

export async function backupOne(target: StateDbTarget, options: BackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const dir = join(options.dest, target.user);
    ensurePrivateDir(options.dest);
    ensurePrivateDir(dir);
    const { file, bytes } = await snapshotInto(target, dir, options);
    if (options.keep > 0) {
      for (const old of listBackups(dir).slice(0, -options.keep)) rmSync(join(dir, old), { force: true });
    }
    return { user: target.user, db: target.db, file, bytes, ms: ms() };
  } catch (error) {
    return new BackupFailed(target.user, target.db, (error as Error).message, ms());
  }
}

/** Backs up every target in turn; each is bounded, and a failure does not stop the rest. */
export async function backupAll(targets: StateDbTarget[], options: BackupOptions): Promise<BackupResult[]> {
  const results: BackupResult[] = [];
  for (const target of targets) results.push(await backupOne(target, options));
  return results;
}

export function formatBackups(results: BackupResult[]): string {
  const lines = results.map((r) =>
    r instanceof BackupFailed
      ? `FAILED ${r.user}: ${r.db}: ${r.detail}`
      : `ok     ${r.user}: ${r.file} (${r.bytes} bytes, ${r.ms} ms)`,
  );
  const failed = results.filter((r) => r instanceof BackupFailed).map((r) => r.user);
  lines.push(
    `${results.length - failed.length} of ${results.length} backed up${failed.length ? `; failed: ${failed.join(", ")}` : ""}`,
  );
  return lines.join("\n");
}
