// autoupdate against fake t3 versions run as real processes on a fake host:
// a good update, a build whose pairing is broken but whose `/` answers 200,
// and a build that migrates the schema and then fails. Each test has a host
// of its own, started on the version it needs (`bun test … -t name` alone).

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkInstance } from "../../src/ops/healthcheck";
import { mintCredential } from "../../src/request/pairing/mint";
import { bunRuntime } from "../../src/runtime/bun/runtime";
import { fetchServerVersion } from "../../src/t3/client";
import { runToEnd } from "../fixtures/child";
import { accountsFile, fakeMintCommand, freePort, REPO, tempDir } from "../fixtures/stack";

const USERS = ["alice", "bob"];

/** `before` plus the one row its instance wrote when it was stopped on `version`. */
const plusStopWrite = (before: Contents, version: string): Contents => ({
  ...before,
  rows: [...before.rows, [Number(before.rows.at(-1)?.[0]) + 1, `written at stop by ${version}`]],
});

type Contents = { userVersion: number; tables: string[]; rows: unknown[][] };

/** Everything a rollback must bring back: schema version, tables, every row. */
function contentsOf(path: string): Contents {
  const db = new Database(path, { readonly: true, strict: true });
  try {
    return {
      userVersion: (db.query("PRAGMA user_version").get() as { user_version: number }).user_version,
      tables: (
        db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").values() as string[][]
      ).flat(),
      rows: db.query("SELECT id, body FROM events ORDER BY id").values(),
    };
  } finally {
    db.close();
  }
}

/** A fake host of its own for one test: alice and bob each run `startVersion`, with 100 rows in their databases. */
async function startHost(startVersion: string) {
  const root = tempDir("t3d-update-");
  const HOST = [process.execPath, join(REPO, "test/fixtures/fake-host.ts"), root];
  const ports: Record<string, number> = {};
  const host = (...args: string[]) => runToEnd([...HOST, ...args]);
  const stateDb = (user: string) => join(root, "state", user, "userdata", "state.sqlite");
  const version = (user: string) => fetchServerVersion(`http://127.0.0.1:${ports[user]}`, 1000);

  mkdirSync(join(root, "instances"), { recursive: true });
  writeFileSync(
    join(root, "registry.json"),
    JSON.stringify({
      "0.0.24": { contract: "0.0.24" },
      "0.0.25": { contract: "0.0.25" },
      "0.0.26-nightly": { contract: "0.0.25", faults: { pairing: "reject" } },
      "0.0.27-nightly": { contract: "0.0.33", faults: { pairing: "reject" }, migrate: true },
      "0.0.28-nightly": { contract: "0.0.25", faultsFor: { bob: { pairing: "reject" } } },
    }),
  );
  await host("install", startVersion);
  const table: Record<string, { os_user: string; port: number }> = {};
  for (const user of USERS) {
    ports[user] = await freePort();
    table[user] = { os_user: user, port: ports[user] ?? 0 };
    writeFileSync(join(root, "instances", `${user}.port`), String(ports[user]));
    mkdirSync(join(root, "state", user, "userdata"), { recursive: true });
    const writer = Bun.spawn([process.execPath, join(REPO, "test/fixtures/sqlite-writer.ts"), stateDb(user), "100"], {
      stdout: "pipe",
    });
    await writer.stdout.getReader().read();
    writer.kill();
    await writer.exited;
    await host("switch", user, startVersion);
    await host("start", user);
  }
  writeFileSync(join(root, "dispatch.json"), JSON.stringify(table));
  for (const user of USERS) {
    let seen: string | undefined;
    for (let i = 0; i < 150 && seen !== startVersion; i++) {
      seen = await version(user);
      if (seen !== startVersion) await Bun.sleep(100);
    }
    if (seen !== startVersion) throw new Error(`${user} did not come up on ${startVersion}`);
  }

  return {
    root,
    version,
    contents: (user: string) => contentsOf(stateDb(user)),
    installs: () =>
      existsSync(join(root, "install.log")) ? readFileSync(join(root, "install.log"), "utf8").trim().split("\n") : [],
    autoupdate: (...args: string[]) =>
      runToEnd([
        process.execPath,
        join(REPO, "src/main.ts"),
        "autoupdate",
        "--dispatch-file",
        join(root, "dispatch.json"),
        "--mint-command",
        fakeMintCommand(join(root, "state")),
        "--state-db",
        join(root, "state", "{os_user}", "userdata", "state.sqlite"),
        "--backup-dir",
        join(root, "backups"),
        "--autoupdate-state",
        join(root, "autoupdate.json"),
        "--t3-install-command",
        [...HOST, "install", "{version}"].join(" "),
        "--t3-switch-command",
        [...HOST, "switch", "{os_user}", "{version}"].join(" "),
        "--t3-stop-command",
        [...HOST, "stop", "{os_user}"].join(" "),
        "--t3-start-command",
        [...HOST, "start", "{os_user}"].join(" "),
        "--t3-latest-command",
        "echo 0.0.25",
        "--canary",
        "alice",
        "--ready-timeout",
        "15s",
        // The fake host runs every instance as this account: the health check's instance step believes them.
        "--accounts-file",
        accountsFile(root, USERS),
        ...args,
      ]),
    healthOf: (user: string) =>
      checkInstance(
        { user, osUser: user, port: ports[user] ?? 0 },
        {
          mint: (osUser) =>
            mintCredential(osUser, {
              command: fakeMintCommand(join(root, "state")).split(" "),
              timeoutMs: 10_000,
              run: bunRuntime.runCommand,
            }),
          probeWebSocket: bunRuntime.probeWebSocket,
          upstreamHost: "127.0.0.1",
          timeoutMs: 2000,
        },
      ),
    async stop() {
      for (const user of USERS) await host("stop", user);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

type Host = Awaited<ReturnType<typeof startHost>>;

/** Each test starts from its own host on `startVersion`, whatever ran before it. */
async function onHost(startVersion: string, body: (h: Host) => Promise<void>): Promise<void> {
  const h = await startHost(startVersion);
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

describe("autoupdate", () => {
  test(
    "--dry-run shows the plan and changes nothing",
    () =>
      onHost("0.0.24", async (h) => {
        const result = await h.autoupdate("--dry-run");
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("alice (port");
        expect(result.stdout).toContain("0.0.24 → 0.0.25");
        expect(result.stdout).toContain("dry run: nothing was changed");
        expect(h.installs()).toEqual(["0.0.24"]);
        expect(await h.version("alice")).toBe("0.0.24");
      }),
    60_000,
  );

  test(
    "0.0.24 → 0.0.25 (the latest): succeeds, and pairing switches endpoint",
    () =>
      onHost("0.0.24", async (h) => {
        expect((await h.healthOf("alice")).endpoint).toBe("/api/auth/bootstrap");
        const result = await h.autoupdate();
        console.log(result.stdout);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("updated: alice, bob → 0.0.25");
        for (const user of USERS) expect(await h.version(user)).toBe("0.0.25");
        const health = await h.healthOf("bob");
        expect(health.ok).toBe(true);
        expect(health.endpoint).toBe("/api/auth/browser-session");
        expect(existsSync(join(h.root, "backups", "pre-update-0.0.25", "alice"))).toBe(true);
        expect((await h.autoupdate()).stdout).toContain("nothing to do: every instance runs 0.0.25");
      }),
    60_000,
  );

  test(
    "a build whose pairing is broken but whose / answers 200 is rolled back; state restored; remembered",
    () =>
      onHost("0.0.25", async (h) => {
        const before = { alice: h.contents("alice"), bob: h.contents("bob") };
        const result = await h.autoupdate("--version", "0.0.26-nightly");
        console.log(result.stdout);
        expect(result.code).toBe(1);
        expect(result.stdout).toContain("health check failed at exchange");
        expect(result.stdout).toContain("rolled back: alice runs 0.0.25 with its database as of its stop");
        // The canary failed: bob was never switched.
        expect(result.stdout).not.toContain("rolled back: bob");
        for (const user of USERS) expect(await h.version(user)).toBe("0.0.25");
        expect((await h.healthOf("alice")).ok).toBe(true);
        // alice keeps every write up to her stop; bob was never touched.
        expect({ alice: h.contents("alice"), bob: h.contents("bob") }).toEqual({
          alice: plusStopWrite(before.alice, "0.0.25"),
          bob: before.bob,
        });
        const state = JSON.parse(readFileSync(join(h.root, "autoupdate.json"), "utf8"));
        expect(Object.keys(state.bad)).toEqual(["0.0.26-nightly"]);

        const installsBefore = h.installs().length;
        const again = await h.autoupdate("--version", "0.0.26-nightly");
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("skip: 0.0.26-nightly is known bad");
        expect(h.installs()).toHaveLength(installsBefore);
      }),
    60_000,
  );

  test(
    "a build that migrates the schema and then fails: back to the pre-update database, row for row",
    () =>
      onHost("0.0.25", async (h) => {
        const before = h.contents("alice");
        expect(before.userVersion).toBe(0);
        const result = await h.autoupdate("--version", "0.0.27-nightly");
        console.log(result.stdout);
        expect(result.code).toBe(1);
        expect(result.stdout).toContain("rolled back: alice runs 0.0.25 with its database as of its stop");
        const after = h.contents("alice");
        expect(after).toEqual(plusStopWrite(before, "0.0.25"));
        expect(after.tables).not.toContain("migrated_by");
        expect(await h.version("alice")).toBe("0.0.25");
        // The migrated database was kept aside, not lost.
        const dir = join(h.root, "state", "alice", "userdata");
        const aside = readdirSync(dir).filter((name) => /^state\.sqlite\.replaced-\d+T\d+Z$/.test(name));
        expect(aside).toHaveLength(1);
        const migrated = new Database(join(dir, aside[0] ?? ""), { readonly: true, strict: true });
        expect(migrated.query("PRAGMA user_version").get()).toEqual({ user_version: 99 });
        migrated.close();
      }),
    60_000,
  );

  test(
    "bob fails after alice passed: both go back, each with every write up to its own stop",
    () =>
      onHost("0.0.25", async (h) => {
        const before = { alice: h.contents("alice"), bob: h.contents("bob") };
        const result = await h.autoupdate("--version", "0.0.28-nightly");
        console.log(result.stdout);
        expect(result.code).toBe(1);
        expect(result.stdout).toContain("ok: alice runs 0.0.28-nightly");
        expect(result.stdout).toContain("bob on 0.0.28-nightly: health check failed at exchange");
        for (const user of USERS) {
          expect(result.stdout).toContain(`rolled back: ${user} runs 0.0.25 with its database as of its stop`);
          expect(await h.version(user)).toBe("0.0.25");
        }
        // bob's last write came after the run's first backup (taken before alice switched): it survives.
        expect({ alice: h.contents("alice"), bob: h.contents("bob") }).toEqual({
          alice: plusStopWrite(before.alice, "0.0.25"),
          bob: plusStopWrite(before.bob, "0.0.25"),
        });
      }),
    60_000,
  );

  test(
    "an unknown version fails before anything switches",
    () =>
      onHost("0.0.25", async (h) => {
        const result = await h.autoupdate("--version", "9.9.9");
        expect(result.code).toBe(1);
        expect(result.stdout).toContain("FAILED before any switch: install");
        for (const user of USERS) expect(await h.version(user)).toBe("0.0.25");
      }),
    30_000,
  );
});
