// Root's operations against the users they serve: as root, with real accounts,
// real files and real processes, each user-side attack on `backup`, `restore`
// and `autoupdate` is run for real by the unprivileged account t3ops_mallory
// (an instance owner with a shell), and what she got is counted. Beside each,
// the legitimate operation still works for t3ops_alice and t3ops_bob. The
// table of results is printed at the end.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { listBackups } from "../../src/ops/backup";
import { asUser, attackTable } from "../fixtures/attacker";
import { runToEnd } from "../fixtures/child";
import { freePort, REPO, tempDir } from "../fixtures/stack";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("SKIPPED test/rootops: needs root to create accounts and act as them (CI runs as root)");

const ALICE = "t3ops_alice";
const BOB = "t3ops_bob";
const MALLORY = "t3ops_mallory";
const USERS = [ALICE, BOB, MALLORY];
const MARKS: Record<string, string> = { [ALICE]: "alice-data", [BOB]: "bob-secret", [MALLORY]: "mallory-data" };
/** The row each account's own database starts with. */
const mark = (user: string) => MARKS[user] ?? "";

const record = attackTable("Root operations vs. local users", "outcome");

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
/** The marker rows of an SQLite file (a backup, a database), or [] when it is none. */
function marks(file: string): string[] {
  try {
    const db = new Database(file, { readonly: true, strict: true });
    try {
      return (db.query("SELECT owner FROM secrets ORDER BY owner").values() as string[][]).flat();
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}
function makeDb(file: string, mark: string): void {
  rmSync(file, { force: true });
  const db = new Database(file, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("CREATE TABLE secrets (owner TEXT)");
  db.run("INSERT INTO secrets VALUES (?)", [mark]);
  db.close();
}
const spawnAs = (user: string, argv: string[]) =>
  Bun.spawn(["setpriv", `--reuid=${user}`, `--regid=${user}`, "--init-groups", ...argv], {
    stdout: "pipe",
    stderr: "inherit",
  });
async function firstLine(child: Subprocess<"ignore" | "pipe" | "inherit", "pipe", "inherit">): Promise<string> {
  const { value } = await child.stdout.getReader().read();
  return new TextDecoder().decode(value).trim();
}

describe.skipIf(!isRoot)("root operations vs. local users (real accounts, real files)", () => {
  const work = tempDir("t3d-rootops-");
  const bin = join(work, "bin", "t3-dispatch");
  const bun = join(work, "bin", "bun"); // for the instance's write at its stop, run as its account
  const attacker = join(work, "attacker");
  const backups = join(work, "backups");
  const ports: Record<string, number> = {};
  const homes: Record<string, string> = {};
  const userdata = (user: string) => join(homes[user] ?? "", "userdata");
  const dbOf = (user: string) => join(userdata(user), "state.sqlite");
  const table = join(work, "dispatch.json");
  const hostLog = join(work, "host", "commands.log");
  const stateDir = join(work, "autoupdate");

  const ops = (command: string, ...args: string[]) =>
    runToEnd([
      bin,
      command,
      "--dispatch-file",
      table,
      "--state-db",
      "{home}/userdata/state.sqlite",
      "--backup-dir",
      backups,
      ...args,
    ]);
  const host = join(work, "host", "host.sh");
  const autoupdate = (...args: string[]) =>
    ops(
      "autoupdate",
      "--mint-command",
      `${bin} fake-mint --state-root /home`,
      "--autoupdate-state",
      join(stateDir, "state.json"),
      "--t3-latest-command",
      "echo 0.0.25",
      "--t3-install-command",
      `${host} install {version}`,
      "--t3-switch-command",
      `${host} switch {os_user} {version}`,
      "--t3-stop-command",
      `${host} stop {os_user}`,
      "--t3-start-command",
      `${host} start {os_user}`,
      "--ready-timeout",
      "3s",
      ...args,
    );
  const hostCommands = () => (existsSync(hostLog) ? readFileSync(hostLog, "utf8").split("\n").filter(Boolean) : []);
  const versionOf = async (user: string) => {
    try {
      const answer = await fetch(`http://127.0.0.1:${ports[user]}/.well-known/t3/environment`, { redirect: "manual" });
      return ((await answer.json()) as { serverVersion?: string }).serverVersion;
    } catch {
      return undefined;
    }
  };
  const startInstance = (user: string) => runToEnd([host, "start", user]);
  const stopInstance = (user: string) => runToEnd([host, "stop", user]);
  async function waitVersion(user: string, version: string | undefined): Promise<void> {
    for (let i = 0; i < 100 && (await versionOf(user)) !== version; i++) await Bun.sleep(50);
    expect({ user, version: await versionOf(user) }).toEqual({ user, version });
  }
  /** Puts back a user's userdata as a real directory with a database of their own. */
  async function resetUser(user: string): Promise<void> {
    const dir = userdata(user);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.real`, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    makeDb(dbOf(user), mark(user));
    await runToEnd(["chown", "-R", `${user}:${user}`, dir]);
  }

  beforeAll(async () => {
    if (!existsSync(join(REPO, "dist/t3-dispatch"))) await runToEnd([process.execPath, "run", "build"]);
    for (const user of USERS) {
      if ((await runToEnd(["id", user])).code !== 0)
        await runToEnd(["useradd", "--create-home", "--shell", "/bin/sh", "-U", user]);
      homes[user] = (await runToEnd(["getent", "passwd", user])).stdout.split(":")[5] ?? "";
      // The fake instance keeps its credentials here; the fake mint (run by root) writes them.
      mkdirSync(join(homes[user] ?? "", "credentials"), { recursive: true });
      await runToEnd(["chown", "-R", `${user}:${user}`, join(homes[user] ?? "", "credentials")]);
      await resetUser(user);
      ports[user] = await freePort();
    }
    chmodSync(work, 0o755);
    // Root-owned files of "another service" that the attacks aim at.
    mkdirSync(join(work, "service"), { mode: 0o755 });
    mkdirSync(join(work, "bin"), { mode: 0o755 });
    copyFileSync(join(REPO, "dist/t3-dispatch"), bin);
    chmodSync(bin, 0o755);
    copyFileSync(process.execPath, bun);
    chmodSync(bun, 0o755);
    cpSync(join(REPO, "test/rootops/attacker"), attacker, { recursive: true });
    chmodSync(attacker, 0o755);
    writeFileSync(table, JSON.stringify(Object.fromEntries(USERS.map((u) => [u, { os_user: u, port: ports[u] }]))));
    // The host's t3-serve@ units, stood in for by the fake instance run as each account.
    mkdirSync(join(work, "host", "versions"), { recursive: true });
    mkdirSync(join(work, "host", "pids"), { recursive: true });
    for (const user of USERS) {
      writeFileSync(join(work, "host", "versions", user), "0.0.24");
      writeFileSync(join(work, "host", `${user}.port`), String(ports[user]));
    }
    writeFileSync(
      host,
      `#!/bin/sh
# host.sh install|switch|stop|start <os_user> [<version>] — every call is logged.
H=${join(work, "host")}
STOP_WRITE='const { Database } = require("bun:sqlite"); const db = new Database(process.argv[1]); db.run("INSERT INTO secrets VALUES (?)", ["written at stop by " + process.argv[2]]); db.close();' 
echo "$*" >> "$H/commands.log"
case $1 in
  install) [ "$2" != 9.9.9 ] ;;
  switch) printf %s "$3" > "$H/versions/$2" ;;
  stop)
    [ -f "$H/pids/$2" ] || exit 0
    # t3 writes its state as it stops: a write no backup taken before this stop holds.
    home=$(getent passwd "$2" | cut -d: -f6)
    setpriv --reuid="$2" --regid="$2" --init-groups ${bun} -e "$STOP_WRITE" "$home/userdata/state.sqlite" "$2" 2>>"$H/$2.log"
    pid=$(cat "$H/pids/$2"); kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$H/pids/$2" ;;
  start)
    v=$(cat "$H/versions/$2")
    # A candidate that crashes at start.
    [ "$v" = 0.0.26-crash ] && exit 0
    home=$(getent passwd "$2" | cut -d: -f6)
    setsid setpriv --reuid="$2" --regid="$2" --init-groups ${bin} fake-instance --version "$v" \\
      --port "$(cat "$H/$2.port")" --state-dir "$home" --owner "$2" </dev/null >/dev/null 2>>"$H/$2.log" &
    echo $! > "$H/pids/$2" ;;
esac
`,
    );
    chmodSync(host, 0o755);
    mkdirSync(stateDir, { mode: 0o700 });
    for (const user of USERS) await startInstance(user);
    for (const user of USERS) await waitVersion(user, "0.0.24");
  }, 60_000);

  afterAll(async () => {
    for (const user of USERS) await stopInstance(user);
    await runToEnd(["pkill", "-KILL", "-u", MALLORY]);
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  /** Bob's rows and his directory's files; -wal/-shm come and go with any reader of his database. */
  const bobState = () => ({
    marks: marks(dbOf(BOB)),
    names: readdirSync(userdata(BOB))
      .filter((name) => !/-(wal|shm)$/.test(name))
      .sort(),
  });

  /** Mallory's backups that hold anything but her own data. */
  const foreignInMalloryBackups = () =>
    listBackups(join(backups, MALLORY)).filter((name) =>
      marks(join(backups, MALLORY, name)).some((m) => m !== mark(MALLORY)),
    ).length;

  test("backup: a symlinked database or userdata directory gets mallory nothing; alice and bob are backed up", async () => {
    // Another service's database: root-owned, world-readable, in a root-owned directory.
    const service = join(work, "service", "service.sqlite");
    makeDb(service, "service-secret");
    chmodSync(service, 0o644);
    const targets: Array<[string, () => Promise<void>]> = [
      ["state.sqlite → bob's database", () => asUser(MALLORY, ["ln", "-sfn", dbOf(BOB), dbOf(MALLORY)]).then(() => {})],
      [
        "state.sqlite → a root service database",
        () => asUser(MALLORY, ["ln", "-sfn", service, dbOf(MALLORY)]).then(() => {}),
      ],
      [
        "userdata → bob's userdata",
        async () => {
          await asUser(MALLORY, ["mv", userdata(MALLORY), `${userdata(MALLORY)}.real`]);
          await asUser(MALLORY, ["ln", "-s", userdata(BOB), userdata(MALLORY)]);
        },
      ],
    ];
    let successes = 0;
    for (const [name, plant] of targets) {
      await resetUser(MALLORY);
      await plant();
      const result = await ops("backup");
      expect(result.stdout).toContain("2 of 3 backed up; failed: t3ops_mallory");
      expect(result.code).toBe(1);
      const got = foreignInMalloryBackups();
      successes += got > 0 ? 1 : 0;
      console.log(`${name}: ${result.stdout.split("\n").find((l) => l.startsWith("FAILED"))}`);
    }
    record(
      "backup: symlinked DB or userdata",
      targets.length,
      successes,
      "mallory's backup refused; none holds another's data",
    );
    expect(successes).toBe(0);

    // The legitimate twin: everyone's own data, root-owned 0600 in root-only 0700 directories.
    await resetUser(MALLORY);
    const legit = await ops("backup");
    expect(legit.code).toBe(0);
    expect(legit.stdout).toContain("3 of 3 backed up");
    for (const user of USERS) {
      const dir = join(backups, user);
      const newest = join(dir, listBackups(dir).at(-1) ?? "");
      expect(marks(newest)).toEqual([mark(user)]);
      expect([statSync(newest).uid, statSync(newest).mode & 0o777]).toEqual([0, 0o600]);
      expect([statSync(dir).uid, statSync(dir).mode & 0o777]).toEqual([0, 0o700]);
    }
    expect(statSync(backups).mode & 0o777).toBe(0o700);
    record("legit: backup of 3 accounts", 1, 1, "3 of 3, each its own data, root 0600 in 0700");
  }, 60_000);

  test("backup: one unreadable database among three fails alone and is named; the other two are good", async () => {
    await resetUser(MALLORY);
    await asUser(MALLORY, ["chmod", "000", dbOf(MALLORY)]); // the child runs as mallory: a real EACCES
    const result = await ops("backup");
    await asUser(MALLORY, ["chmod", "600", dbOf(MALLORY)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED t3ops_mallory: .*state\.sqlite: .*(unable to open|permission|EACCES)/i);
    expect(result.stdout).toContain("2 of 3 backed up; failed: t3ops_mallory");
    for (const user of [ALICE, BOB]) expect(result.stdout).toContain(`ok     ${user}:`);
    record("legit: one unreadable DB of 3", 1, 1, "2 good backups; the third named, exit 1");
  }, 30_000);

  test("restore: a swapped partial file or a symlinked userdata reaches nothing of root's or bob's", async () => {
    await stopInstance(MALLORY); // a restore waits for the instance to be stopped
    await resetUser(MALLORY);
    expect((await ops("backup", "--user", MALLORY)).code).toBe(0);
    const from = join(backups, MALLORY, listBackups(join(backups, MALLORY)).at(-1) ?? "");
    const restore = () => ops("restore", "--user", MALLORY, "--from", from);

    // 1. The partial file swapped for a link to a root file while root (once) copied and chowned it.
    const rootFile = join(work, "service", "root-file");
    writeFileSync(rootFile, "root's\n");
    chmodSync(rootFile, 0o644);
    const before = { sha: sha(rootFile), uid: statSync(rootFile).uid, mode: statSync(rootFile).mode };
    let swapTries = 0;
    let swapSuccesses = 0;
    let swaps = 0;
    for (let i = 0; i < 5; i++) {
      const swapper = spawnAs(MALLORY, [
        "node",
        join(attacker, "swap-partial.js"),
        userdata(MALLORY),
        rootFile,
        "1500",
      ]);
      await Bun.sleep(100);
      await restore();
      swaps += Number(await new Response(swapper.stdout).text());
      swapTries++;
      const after = { sha: sha(rootFile), uid: statSync(rootFile).uid, mode: statSync(rootFile).mode };
      if (JSON.stringify(after) !== JSON.stringify(before)) swapSuccesses++;
    }
    record(
      "restore: partial swapped for a link",
      swapTries,
      swapSuccesses,
      `${swaps} swaps made; the root file unchanged`,
    );
    expect(swapSuccesses).toBe(0);

    // 2. userdata replaced by a link to bob's userdata, or to a root-owned directory.
    const rootDir = join(work, "service");
    const bobBefore = bobState();
    const rootBefore = readdirSync(rootDir).sort();
    let linkSuccesses = 0;
    for (const target of [userdata(BOB), rootDir]) {
      await resetUser(MALLORY);
      await asUser(MALLORY, ["mv", userdata(MALLORY), `${userdata(MALLORY)}.real`]);
      await asUser(MALLORY, ["ln", "-s", target, userdata(MALLORY)]);
      const result = await restore();
      expect(result.code).not.toBe(0);
      if (
        JSON.stringify(bobState()) !== JSON.stringify(bobBefore) ||
        readdirSync(rootDir).sort().join() !== rootBefore.join()
      )
        linkSuccesses++;
    }
    record(
      "restore: userdata → bob's / root's dir",
      2,
      linkSuccesses,
      "refused; bob's and root's directories unchanged",
    );
    expect(linkSuccesses).toBe(0);

    // The legitimate twin: alice's restore puts her backup back, as her file.
    await resetUser(ALICE);
    expect((await ops("backup", "--user", ALICE)).code).toBe(0);
    const aliceBackup = join(backups, ALICE, listBackups(join(backups, ALICE)).at(-1) ?? "");
    const db = new Database(dbOf(ALICE), { strict: true });
    db.run("INSERT INTO secrets VALUES ('written after the backup')");
    db.close();
    await stopInstance(ALICE);
    const legit = await ops("restore", "--user", ALICE, "--from", aliceBackup);
    await startInstance(ALICE);
    expect(legit.code).toBe(0);
    expect(marks(dbOf(ALICE))).toEqual([mark(ALICE)]);
    expect(statSync(dbOf(ALICE)).uid).toBe(Number((await runToEnd(["id", "-u", ALICE])).stdout));
    record("legit: restore of alice", 1, 1, "her backup back in place, owned by her");
    await resetUser(MALLORY);
    await startInstance(MALLORY);
    await waitVersion(ALICE, "0.0.24");
    await waitVersion(MALLORY, "0.0.24");
  }, 90_000);

  test("autoupdate: a hostile serverVersion (path, shell, option, redirect) reaches no command line", async () => {
    await stopInstance(MALLORY);
    const hostile: Array<[string, string]> = [
      ["json", "../../../etc"],
      ["json", "0.0.24;touch /tmp/t3ops-pwned"],
      ["json", "$(touch /tmp/t3ops-pwned)"],
      ["json", "0.0.24 --help"],
      ["json", `0.0.24\n${"x".repeat(100)}`],
      ["redirect", `http://127.0.0.1:${ports[ALICE]}/.well-known/t3/environment`],
    ];
    let successes = 0;
    for (const [mode, value] of hostile) {
      const server = spawnAs(MALLORY, [
        "node",
        join(attacker, "version-server.js"),
        String(ports[MALLORY]),
        mode,
        value,
      ]);
      expect(await firstLine(server)).toBe("listening");
      const before = hostCommands().length;
      const result = await autoupdate();
      server.kill();
      await server.exited;
      const ran = hostCommands().slice(before);
      if (result.code === 0 || ran.length > 0 || existsSync("/tmp/t3ops-pwned")) successes++;
      expect(result.stdout).toContain("nothing was changed");
    }
    record("autoupdate: hostile serverVersion", hostile.length, successes, "refused before any command ran");
    expect(successes).toBe(0);
    await startInstance(MALLORY);
    await waitVersion(MALLORY, "0.0.24");
  }, 60_000);

  test("autoupdate: a symlink planted in a state directory the service account owns is never followed", async () => {
    // The old default: /var/lib/t3-dispatch, owned by the service account (here: mallory plays a compromised one).
    const serviceDir = join(work, "service-state");
    mkdirSync(serviceDir, { mode: 0o755 });
    await runToEnd(["chown", `${MALLORY}:${MALLORY}`, serviceDir]);
    const victim = join(work, "service", "victim");
    writeFileSync(victim, "root's\n");
    const before = sha(victim);
    await asUser(MALLORY, ["ln", "-s", victim, join(serviceDir, "state.json")]);
    await asUser(MALLORY, ["ln", "-s", victim, join(serviceDir, "state.json.partial")]);
    const before2 = hostCommands().length;
    const result = await autoupdate("--autoupdate-state", join(serviceDir, "state.json"), "--version", "0.0.26-crash");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("nothing was changed");
    // A root-owned state directory with a planted link (say, left by an old version) is refused too.
    symlinkSync(victim, join(stateDir, "state.json"));
    const planted = await autoupdate("--version", "0.0.26-crash");
    rmSync(join(stateDir, "state.json"));
    expect(planted.code).toBe(2);
    const successes = (sha(victim) !== before ? 1 : 0) + (hostCommands().length > before2 ? 1 : 0);
    record("autoupdate: planted state symlink", 2, successes, "refused (exit 2) before anything ran; target unchanged");
    expect(successes).toBe(0);
    expect(lstatSync(join(serviceDir, "state.json")).isSymbolicLink()).toBe(true);
  }, 30_000);

  test("autoupdate: a rollback mallory forces by holding her port restores nothing into bob's directory", async () => {
    for (const user of USERS) await resetUser(user);
    const bobBefore = bobState();
    // mallory's instance is stopped first (the canary): she takes the port, and swaps her userdata
    // once root's at-stop backup of it has run (she watches for its snapshot child, a process of hers).
    const squatter = spawnAs(MALLORY, [
      "node",
      join(attacker, "squat.js"),
      String(ports[MALLORY]),
      "0.0.24",
      userdata(MALLORY),
      userdata(BOB),
    ]);
    expect(await firstLine(squatter)).toBe("waiting");
    const result = await autoupdate("--canary", MALLORY, "--version", "0.0.25");
    squatter.kill();
    await squatter.exited;
    // The attack was made: her userdata is the link to bob's by the time root rolled back.
    expect(lstatSync(userdata(MALLORY)).isSymbolicLink()).toBe(true);
    expect(result.stdout).toContain(`rolling back ${MALLORY}`);
    expect(result.stdout).toContain(`ROLLBACK INCOMPLETE for ${MALLORY}`);
    const touched = JSON.stringify(bobState()) !== JSON.stringify(bobBefore) ? 1 : 0;
    const others = (await versionOf(BOB)) === "0.0.24" && (await versionOf(ALICE)) === "0.0.24" ? 0 : 1;
    record(
      "autoupdate: forced rollback + swap",
      1,
      touched + others,
      "bob's data and alice's and bob's versions untouched",
    );
    expect(touched + others).toBe(0);
    // Mallory's own instance is hers to mend: back on her real directory and version.
    await resetUser(MALLORY);
    await stopInstance(MALLORY);
    writeFileSync(join(work, "host", "versions", MALLORY), "0.0.24");
    await startInstance(MALLORY);
    await waitVersion(MALLORY, "0.0.24");
  }, 90_000);

  test("legit rollback: a candidate that crashes at start goes back, each database as of its own stop", async () => {
    for (const user of USERS) await resetUser(user);
    rmSync(join(stateDir, "state.json"), { force: true });
    const result = await autoupdate("--canary", ALICE, "--version", "0.0.26-crash");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`rolled back: ${ALICE} runs 0.0.24 with its database as of its stop`);
    // Alice's write at her stop is in (the at-start backup, taken before it, would have lost it).
    expect(marks(dbOf(ALICE))).toEqual([mark(ALICE), `written at stop by ${ALICE}`]);
    for (const user of USERS) {
      expect(await versionOf(user)).toBe("0.0.24");
      if (user !== ALICE) expect(marks(dbOf(user))).toEqual([mark(user)]);
    }
    expect(statSync(join(stateDir, "state.json")).uid).toBe(0);
    record("legit: rollback of a crashing build", 1, 1, "alice back on 0.0.24 with every write up to her stop");
  }, 60_000);
});
