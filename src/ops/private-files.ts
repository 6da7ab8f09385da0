// Root's own files (backups, the autoupdate state): they live in directories
// that only root (or whoever runs the ops command) can change, every path is
// checked from / down before it is used, files are created exclusively and
// never through a symbolic link. A user who plants a link or owns a directory
// on the way gets a refusal, never a root write that follows it.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fsyncPath } from "../runtime/bun/sqlite";
import { OpsError } from "./ops-error";

const euid = () => process.geteuid?.() ?? 0;
const trustedOwner = (uid: number) => uid === 0 || uid === euid();
const STICKY = 0o1000;

/** Why a directory on the way could be changed by someone else, or undefined. */
function judgeDir(path: string, st: Stats): string | undefined {
  if (!st.isDirectory()) return `${path} is not a directory`;
  if (!trustedOwner(st.uid)) return `${path} is owned by uid ${st.uid}`;
  // A sticky world-writable directory (/tmp) is fine: others cannot replace what we own in it.
  if (st.mode & 0o022 && !(st.mode & STICKY)) return `${path} is writable by group or others`;
  return undefined;
}

/**
 * Every component of `path`, from / down, is owned by root (or by us) and not
 * writable by others; a symbolic link on the way must be ours and is followed
 * and checked in turn. Components that do not exist yet are fine (we create them).
 */
export function assertTrustedPath(path: string, depth = 0): void {
  if (depth > 8) throw new OpsError(`${path}: too many symbolic links`);
  let current = "/";
  const root = judgeDir(current, lstatSync(current));
  if (root) throw new OpsError(root);
  for (const part of resolve(path).split("/").filter(Boolean)) {
    const next = join(current, part);
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) {
      if (!trustedOwner(st.uid)) throw new OpsError(`${next} is a symbolic link owned by uid ${st.uid}`);
      current = realpathSync(next);
      assertTrustedPath(current, depth + 1);
      continue;
    }
    if (!st.isDirectory()) {
      if (next !== resolve(path)) throw new OpsError(`${next} is not a directory`);
      if (!st.isFile()) throw new OpsError(`${next} is not a regular file`);
      if (!trustedOwner(st.uid)) throw new OpsError(`${next} is owned by uid ${st.uid}`);
      if (st.mode & 0o022) throw new OpsError(`${next} is writable by group or others`);
      return;
    }
    const problem = judgeDir(next, st);
    if (problem) throw new OpsError(problem);
    current = next;
  }
}

/** A directory only we can enter: created 0700 where missing, its whole path checked. */
export function ensurePrivateDir(path: string): void {
  assertTrustedPath(path);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  const problem = judgeDir(path, st);
  if (problem) throw new OpsError(problem);
  if ((st.mode & 0o777) !== 0o700) throw new OpsError(`${path} has mode ${(st.mode & 0o777).toString(8)}`);
}

/** A new file, 0600, read-write, that did not exist (never a link to one that did). */
export function createExclusive(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
}

/** Opens one of our files for reading: a regular file of ours on a trusted path, never through a link. */
export function openTrusted(path: string): number {
  assertTrustedPath(path);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const st = fstatSync(fd);
  if (!st.isFile() || !trustedOwner(st.uid)) {
    closeSync(fd);
    throw new OpsError(`${path} is not a regular file of root's`);
  }
  return fd;
}

/** Whether the open file starts as an SQLite database does (read at offset 0, the file offset untouched). */
export function hasSqliteHeader(fd: number): boolean {
  const magic = "SQLite format 3\0";
  const header = Buffer.alloc(magic.length);
  readSync(fd, header, 0, header.length, 0);
  return header.toString("latin1") === magic;
}

export function readTrusted(path: string): string {
  const fd = openTrusted(path);
  try {
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically: a fresh exclusive file beside it, fsynced, renamed over it. */
export function writeTrusted(path: string, text: string): void {
  ensurePrivateDir(dirname(path));
  const partial = `${path}.${process.pid}-${crypto.randomUUID()}.partial`;
  const fd = createExclusive(partial);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  fsyncPath(dirname(path));
}
