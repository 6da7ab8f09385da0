// The internal subcommands `backup` and `restore` run as the instance's
// account (snapshot-db, restore-db): the only code that opens a user's files.
import { parseArgs } from "node:util";
import { restoreFromStdin, snapshotToStdout } from "../ops/account-side";
import { fail } from "./exit";

/**
 * Internal: one database's snapshot to stdout, run by `backup` as the
 * instance's account (so it can be bounded and killed, and reaches only what
 * that account can).
 */
export function snapshotCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { db: { type: "string" }, "busy-timeout": { type: "string", default: "5000" } },
    strict: true,
  });
  if (!values.db) return fail("snapshot-db", "usage: snapshot-db --db FILE [--busy-timeout MS] >COPY");
  process.umask(0o077);
  try {
    snapshotToStdout(values.db, Number(values["busy-timeout"]));
    return 0;
  } catch (error) {
    return fail("snapshot-db", (error as Error).message, 1);
  }
}

/** Internal: puts the backup on stdin in place of the database, run by `restore` as the instance's account. */
export function restoreDbCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, strict: true });
  if (!values.db) return fail("restore-db", "usage: restore-db --db FILE <BACKUP");
  process.umask(0o077);
  try {
    process.stdout.write(`${restoreFromStdin(values.db) ?? ""}\n`);
    return 0;
  } catch (error) {
    return fail("restore-db", (error as Error).message, 1);
  }
}
