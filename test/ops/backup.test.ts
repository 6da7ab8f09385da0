// Online backups and restore on real SQLite files, with a real writer process
// and the snapshot run as a real child process.

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Failure } from "../../src/lib/errors";
import {
  BackupFailed,
  type BackupOptions,
  type BackupResult,
  backupAll,
  backupOne,
  listBackups,
} from "../../src/ops/backup";
import { type RestoreRequest, restoreDatabase } from "../../src/ops/restore";
import type { StateDbTarget } from "../../src/ops/state-db";
import { bunRuntime } from "../../src/runtime/bun/runtime";
import { integrityCheck } from "../../src/runtime/bun/sqlite";
import { runToEnd } from "../fixtures/child";
import { accountsFile, REPO, tempDir } from "../fixtures/stack";

/** Where a backup went (empty when it failed: the assertion beside it says so). */
const fileOf = (result: BackupResult): string => (result instanceof BackupFailed ? "" : result.file);
const MAIN = join(REPO, "src/main.ts");
const WRITER = join(REPO, "test/fixtures/sqlite-writer.ts");
const root = tempDir("t3d-backup-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const options = (overrides: Partial<BackupOptions> = {}): BackupOptions => ({
  dest: join(root, "backups"),
  keep: 10,
  timeoutMs: 30_000,
  snapshotCommand: [process.execPath, MAIN, "snapshot-db"],
  run: bunRuntime.runCommand,
  ...overrides,
});

// Every database here is this test's own: the snapshot and restore children run as this account.
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const target = (user: string, db = join(root, user, "state.sqlite")): StateDbTarget => ({
  user,
  osUser: user,
  port: 1,
  db,
  uid,
  gid,
});
const restore = (request: Omit<RestoreRequest, "target"> & { db: string }) =>
  restoreDatabase(
    { ...request, target: target("carol", request.db) },
    { restoreCommand: [process.execPath, MAIN, "restore-db"], timeoutMs: 30_000, run: bunRuntime.runCommand },
  );

/** Rows 1..n with a total of n: a consistent prefix of the writer's transactions. */
function consistentPrefix(file: string): number {
  const db = new Database(file, { readonly: true, strict: true });
  try {
    const { count, max } = db.query("SELECT count(*) AS count, coalesce(max(id), 0) AS max FROM events").get() as {
      count: number;
      max: number;
    };
    const { n } = db.query("SELECT n FROM totals WHERE k = 1").get() as { n: number };
    expect({ count, max, n }).toEqual({ count, max: count, n: count });
    return count;
  } finally {
    db.close();
  }
}

async function startWriter(db: string, prefill = 0) {
  await runToEnd(["mkdir", "-p", join(db, "..")]);
  const writer = Bun.spawn([process.execPath, WRITER, db, String(prefill)], { stdout: "pipe", stderr: "inherit" });
  const reader = writer.stdout.getReader();
  await reader.read(); // "ready"
  return writer;
}

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("backup while the instance writes", () => {
  let writer: Awaited<ReturnType<typeof startWriter>>;
  beforeAll(async () => {
    writer = await startWriter(join(root, "alice", "state.sqlite"), 500);
  });
  afterAll(() => writer.kill());

  test("every backup passes integrity_check and holds a consistent prefix of the writes", async () => {
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await backupOne(target("alice"), options());
      expect(result).not.toBeInstanceOf(BackupFailed);
      const file = fileOf(result);
      expect(integrityCheck(file)).toBe("ok");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      counts.push(consistentPrefix(file));
      await Bun.sleep(100);
    }
    // The writer kept going between backups: each snapshot is a later point in time.
    expect(counts[0]).toBeGreaterThanOrEqual(500);
    expect(counts[2]).toBeGreaterThan(counts[0] ?? 0);
    console.log(`backups while writing held ${counts.join(", ")} rows`);
  });

  test("retention keeps exactly N, the newest", async () => {
    for (let i = 0; i < 4; i++)
      expect(await backupOne(target("alice"), options({ keep: 2 }))).not.toBeInstanceOf(BackupFailed);
    const dir = join(root, "backups", "alice");
    const kept = listBackups(dir);
    expect(kept).toHaveLength(2);
    expect(readdirSync(dir).filter((n) => n.endsWith(".partial"))).toEqual([]);
    const last = await backupOne(target("alice"), options({ keep: 2 }));
    expect(listBackups(dir)).toEqual([kept[1] ?? "", fileOf(last).split("/").at(-1) ?? ""]);
  });
});

describe("failures never cost a good backup", () => {
  test("a backup killed mid-way leaves the previous good backup untouched", async () => {
    const db = join(root, "big", "state.sqlite");
    const writer = await startWriter(db, 400_000); // ~100 MB: VACUUM INTO takes a while
    writer.kill();
    await writer.exited;
    const good = await backupOne(target("big", db), options());
    expect(good).not.toBeInstanceOf(BackupFailed);
    const goodFile = fileOf(good);
    const before = { sha: sha(goodFile), mtime: statSync(goodFile).mtimeMs };

    const table = join(root, "big-table.json");
    writeFileSync(table, JSON.stringify({ big: { os_user: "big", port: 1 } }));
    // Its own process group, so the kill takes the snapshot child too (as systemd would).
    const backup = Bun.spawn(
      [
        "setsid",
        process.execPath,
        MAIN,
        "backup",
        "--dispatch-file",
        table,
        "--state-db",
        db,
        "--dest",
        join(root, "backups"),
        "--accounts-file",
        accountsFile(root, ["big"]),
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const dir = join(root, "backups", "big");
    const deadline = Date.now() + 10_000;
    while (!readdirSync(dir).some((n) => n.endsWith(".partial")) && Date.now() < deadline) await Bun.sleep(5);
    process.kill(-backup.pid, "SIGKILL");
    await backup.exited;

    expect(listBackups(dir)).toEqual([goodFile.split("/").at(-1) ?? ""]);
    expect({ sha: sha(goodFile), mtime: statSync(goodFile).mtimeMs }).toEqual(before);
    // The next run clears the leftover and succeeds.
    const next = await backupOne(target("big", db), options());
    expect(next).not.toBeInstanceOf(BackupFailed);
    expect(readdirSync(dir).filter((n) => n.endsWith(".partial"))).toEqual([]);
  }, 60_000);

  test("a corrupt, a locked and a non-file database fail alone, bounded; the others are backed up", async () => {
    const corrupt = join(root, "corrupt", "state.sqlite");
    await runToEnd(["mkdir", "-p", join(root, "corrupt"), join(root, "fifo"), join(root, "locked")]);
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    const fifo = join(root, "fifo", "state.sqlite");
    await runToEnd(["mkfifo", fifo]); // opening it would block forever
    // A rollback-journal database under an exclusive lock: a reader waits for as long as it is let.
    const locked = join(root, "locked", "state.sqlite");
    const locker = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(locked)});
         db.run("CREATE TABLE t (x)"); db.run("PRAGMA locking_mode = EXCLUSIVE"); db.run("BEGIN EXCLUSIVE");
         db.run("INSERT INTO t VALUES (1)"); console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      { stdout: "pipe" },
    );
    await locker.stdout.getReader().read();
    const good = join(root, "fine", "state.sqlite");
    (await startWriter(good, 10)).kill();
    const started = performance.now();
    const results = await backupAll(
      [target("corrupt", corrupt), target("fifo", fifo), target("locked", locked), target("fine", good)],
      options({ timeoutMs: 1500 }),
    );
    locker.kill();
    expect(results.map((r) => [r.user, !(r instanceof BackupFailed)])).toEqual([
      ["corrupt", false],
      ["fifo", false],
      ["locked", false],
      ["fine", true],
    ]);
    expect(String(results[1])).toContain("is not a regular file");
    expect(String(results[2])).toMatch(/timed out after 1500 ms|database is locked/);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(listBackups(join(root, "backups", "corrupt"))).toEqual([]);
  });

  test("the CLI exits non-zero and names the failed database", async () => {
    (await startWriter(join(root, "present", "state.sqlite"), 10)).kill();
    const table = join(root, "cli-table.json");
    writeFileSync(
      table,
      JSON.stringify({ present: { os_user: "present", port: 1 }, missing: { os_user: "missing", port: 2 } }),
    );
    const result = await runToEnd([
      process.execPath,
      MAIN,
      "backup",
      "--dispatch-file",
      table,
      "--state-db",
      join(root, "{os_user}", "state.sqlite"),
      "--dest",
      join(root, "cli-backups"),
      "--keep",
      "3",
      "--accounts-file",
      accountsFile(root, ["present", "missing"]),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("ok     present:");
    expect(result.stdout).toContain("FAILED missing:");
    expect(result.stdout).toContain("1 of 2 backed up; failed: missing");
  });
});

describe("restore", () => {
  test("round-trips the data, keeps the replaced file aside, removes stale -wal/-shm", async () => {
    const db = join(root, "carol", "state.sqlite");
    (await startWriter(db, 50)).kill();
    const backup = await backupOne(target("carol", db), options());
    const rows = consistentPrefix(fileOf(backup));
    const writer = await startWriter(db, 1000); // more writes after the backup, then a crash
    writer.kill("SIGKILL");
    await writer.exited;
    expect(existsSync(`${db}-wal`)).toBe(true);

    const result = await restore({ db, from: fileOf(backup), instanceRunning: false, force: false });
    expect(result).not.toBeInstanceOf(Failure);
    if (result instanceof Failure) return;
    expect(consistentPrefix(db)).toBe(rows);
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(existsSync(`${db}-shm`)).toBe(false);
    expect(consistentPrefix(result.replacedAside ?? "")).toBeGreaterThan(rows);
  });

  test("refuses while the instance runs unless forced, and refuses a corrupt backup", async () => {
    const db = join(root, "dave", "state.sqlite");
    (await startWriter(db, 50)).kill();
    const from = fileOf(await backupOne(target("dave", db), options()));
    const running = await restore({ db, from, instanceRunning: true, force: false });
    expect(String(running)).toBe("restore_failed: the instance is running: stop it first (or pass --force)");
    expect(await restore({ db, from, instanceRunning: true, force: true })).not.toBeInstanceOf(Failure);
    // Not an SQLite file: refused before anything is handed over.
    const corrupt = join(root, "dave", "garbage.sqlite");
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    const refused = await restore({ db, from: corrupt, instanceRunning: false, force: false });
    expect(String(refused)).toBe(`restore_failed: ${corrupt} is not an SQLite file`);
    // An SQLite header over a damaged body: copied, checked, and refused before it replaces anything.
    const damaged = join(root, "dave", "damaged.sqlite");
    const bytes = readFileSync(from);
    bytes.fill(0x5a, 100);
    writeFileSync(damaged, bytes);
    const failed = await restore({ db, from: damaged, instanceRunning: false, force: false });
    expect(failed).toBeInstanceOf(Failure);
    if (failed instanceof Failure) expect(failed.detail).toContain("integrity_check");
    expect(readdirSync(join(root, "dave")).filter((n) => n.endsWith(".partial"))).toEqual([]);
    expect(integrityCheck(db)).toBe("ok");
  });
});
