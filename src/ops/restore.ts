// Restoring a state database from a backup: only while the instance is
// stopped (unless forced), only from a file that passes integrity_check, and
// atomically: the new file is renamed over the old one, which is kept aside
// (with its -wal/-shm, which would otherwise be replayed onto the restored file).
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fsyncPath, integrityCheck } from "../runtime/sqlite";
import { stamp } from "./backup";

export interface RestoreRequest {
  db: string;
  from: string;
  /** Whether the instance answers on its port right now. */
  instanceRunning: boolean;
  force: boolean;
}

export type RestoreResult = { ok: true; replacedAside: string | undefined } | { ok: false; error: string };

export function restoreDatabase(request: RestoreRequest): RestoreResult {
  const { db, from } = request;
  if (request.instanceRunning && !request.force) {
    return { ok: false, error: "the instance is running: stop it first (or pass --force)" };
  }
  if (!existsSync(from)) return { ok: false, error: `no backup at ${from}` };
  let verdict: string;
  try {
    verdict = integrityCheck(from);
  } catch (error) {
    verdict = (error as Error).message;
  }
  if (verdict !== "ok") return { ok: false, error: `${from} fails integrity_check: ${verdict}` };

  const when = stamp();
  const incoming = `${db}.restore-${when}.partial`;
  copyFileSync(from, incoming);
  // The restored file belongs to whoever owned the one it replaces.
  const previous = existsSync(db) ? statSync(db) : undefined;
  chmodSync(incoming, previous ? previous.mode & 0o777 : 0o600);
  if (previous) chownSync(incoming, previous.uid, previous.gid);
  fsyncPath(incoming);

  let aside: string | undefined;
  if (previous) {
    aside = `${db}.replaced-${when}`;
    linkSync(db, aside);
  }
  for (const suffix of ["-wal", "-shm"]) {
    if (!existsSync(db + suffix)) continue;
    if (aside) renameSync(db + suffix, aside + suffix);
    else rmSync(db + suffix);
  }
  renameSync(incoming, db);
  fsyncPath(dirname(db));
  return { ok: true, replacedAside: aside };
}
