// The halves of backup and restore that run as the instance's account (see
// as-account.ts): only this side opens the user's files or parses SQLite they
// wrote. Root hands over an open descriptor of its own file (stdout for a
// snapshot, stdin for a restore) and never a path.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fsyncPath, integrityCheck, snapshotDatabase } from "../runtime/bun/sqlite";
import { OpsError } from "./ops-error";
import { stamp } from "./stamp";

/** The database must be a regular file (not a link, a fifo, a device) that this account owns. */
function ownDatabase(db: string): Stats | undefined {
  let st: Stats;
  try {
    st = lstatSync(db);
  } catch {
    return undefined;
  }
  if (!st.isFile()) throw new OpsError(`${db} is not a regular file`);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) throw new OpsError(`${db} is owned by uid ${st.uid}, not by the instance's account (${uid})`);
  return st;
}

function copyFd(from: number, to: number): number {
  const chunk = Buffer.alloc(1 << 20);
  let total = 0;
  for (;;) {
    const n = readSync(from, chunk, 0, chunk.length, null);
    if (n === 0) return total;
    for (let at = 0; at < n; ) at += writeSync(to, chunk, at, n - at);
    total += n;
  }
}

/** A checked, consistent snapshot of `db`, written to stdout (root's open backup file). */
export function snapshotToStdout(db: string, busyTimeoutMs: number): void {
  if (!ownDatabase(db)) throw new OpsError(`no database at ${db}`);
  const dir = mkdtempSync(join(tmpdir(), "t3d-snapshot-"));
  try {
    const copy = join(dir, "state.sqlite");
    const bad = snapshotDatabase(db, copy, busyTimeoutMs);
    if (bad) throw new OpsError(bad.detail);
    const fd = openSync(copy, "r");
    try {
      copyFd(fd, 1);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Puts the database read from stdin in place of `db`: copied beside it under a
 * fresh name, checked, then renamed over it; the replaced file (and its
 * -wal/-shm, which would otherwise be replayed onto the restored file) is kept
 * aside. Returns where the replaced file went.
 */
export function restoreFromStdin(db: string): string | undefined {
  const previous = ownDatabase(db);
  const when = stamp();
  const incoming = `${db}.restore-${when}.partial`;
  const fd = openSync(
    incoming,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    copyFd(0, fd);
    fchmodSync(fd, previous ? previous.mode & 0o777 : 0o600);
    if (fstatSync(fd).size === 0) throw new OpsError("the backup is empty");
  } catch (error) {
    closeSync(fd);
    rmSync(incoming, { force: true });
    throw error;
  }
  closeSync(fd);
  const integrity = (() => {
    try {
      return integrityCheck(incoming);
    } catch (error) {
      return (error as Error).message;
    }
  })();
  if (integrity !== "ok") {
    rmSync(incoming, { force: true });
    throw new OpsError(`the backup fails integrity_check: ${integrity}`);
  }
  fsyncPath(incoming);

  const aside = previous ? `${db}.replaced-${when}` : undefined;
  if (aside) linkSync(db, aside);
  for (const suffix of ["-wal", "-shm"]) {
    try {
      lstatSync(db + suffix);
    } catch {
      continue;
    }
    if (aside) renameSync(db + suffix, aside + suffix);
    else rmSync(db + suffix);
  }
  renameSync(incoming, db);
  fsyncPath(dirname(db));
  return aside;
}
