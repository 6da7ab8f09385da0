// Restoring a state database from a backup: only while the instance is
// stopped (unless forced), only from root's own SQLite file on a path no user
// can change. Root opens the backup and hands the descriptor to a child that
// runs as the instance's account (account-side.ts): that child alone writes in
// the user's directory, so a swapped partial file or a symlinked directory
// reaches only what the user could reach anyway.
import { closeSync } from "node:fs";
import { Failure } from "../lib/errors";
import type { CommandRunner } from "../runtime/command";
import { asAccount } from "./as-account";
import { hasSqliteHeader, openTrusted } from "./private-files";
import type { StateDbTarget } from "./state-db";

export interface RestoreRequest {
  target: StateDbTarget;
  from: string;
  /** Whether the instance answers on its port right now. */
  instanceRunning: boolean;
  force: boolean;
}

export interface RestoreOptions {
  /** argv prefix of the `restore-db` subcommand (this program, run as a child). */
  restoreCommand: string[];
  timeoutMs: number;
  run: CommandRunner;
}

/** Restored: where the replaced database was kept, if there was one. */
export interface Restored {
  replacedAside: string | undefined;
}

export type RestoreResult = Restored | Failure<"restore_failed">;

const failed = (detail: string) => new Failure("restore_failed", detail);

export async function restoreDatabase(request: RestoreRequest, options: RestoreOptions): Promise<RestoreResult> {
  const { target, from } = request;
  if (request.instanceRunning && !request.force) {
    return failed("the instance is running: stop it first (or pass --force)");
  }
  let fd: number;
  try {
    fd = openTrusted(from);
  } catch (error) {
    return failed(`cannot use ${from} as a backup: ${(error as Error).message}`);
  }
  try {
    // Not even a stray root file's first bytes go to the user: only an SQLite file is handed over.
    if (!hasSqliteHeader(fd)) return failed(`${from} is not an SQLite file`);
    const child = asAccount(target, [...options.restoreCommand, "--db", target.db], { stdin: fd });
    const result = await options.run(child.argv, options.timeoutMs, child.io);
    if (result.timedOut) return failed(`restore timed out after ${options.timeoutMs} ms`);
    if (result.exitCode !== 0) return failed(result.stderr.trim().slice(0, 300) || `exit ${result.exitCode}`);
    const aside = result.stdout.trim();
    return { replacedAside: aside || undefined };
  } catch (error) {
    return failed((error as Error).message);
  } finally {
    closeSync(fd);
  }
}
