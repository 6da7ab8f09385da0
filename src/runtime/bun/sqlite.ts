// Bun-only: the SQLite operations of backup and restore, on real files.
import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, openSync } from "node:fs";
import { Failure } from "../../lib/errors";

/** `PRAGMA integrity_check` on a file opened read-only: "ok", or what is wrong. */
export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, strict: true });
  try {
    const rows = db.query("PRAGMA integrity_check").values() as string[][];
    return rows.map((r) => r[0]).join("; ");
  } finally {
    db.close();
  }
}

/**
 * A consistent snapshot of a live database (t3 writes in WAL mode): VACUUM INTO
 * reads inside one transaction, so the copy is one point in time while writers
 * go on. The copy is checked and fsynced before this returns; a copy that
 * fails its integrity check is a Failure (SQLite's own errors throw).
 */
export function snapshotDatabase(
  source: string,
  target: string,
  busyTimeoutMs: number,
): Failure<"bad_copy"> | undefined {
  const db = new Database(source, { readonly: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    db.query("VACUUM INTO ?").run(target);
  } finally {
    db.close();
  }
  const integrity = integrityCheck(target);
  if (integrity !== "ok") return new Failure("bad_copy", `integrity_check of the copy: ${integrity}`);
  fsyncPath(target);
  return undefined;
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
