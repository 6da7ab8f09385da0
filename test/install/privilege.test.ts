// The privilege boundary for real, as root: install.sh on this host, two real
// OS users, real sudo, the real wrapper, and the installed binary running as
// the unprivileged t3-dispatch user. The t3 CLI is a stand-in (`t3-dispatch
// fake-t3`) that writes credentials the fake instances accept.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mintCredential } from "../../src/request/pairing/mint";
import { bunRuntime } from "../../src/runtime/bun/runtime";
import { type Child, runToEnd, startChild } from "../fixtures/child";
import { asService, linesIn, SavedFiles, serveAsService, uidOf } from "../fixtures/root-host";
import { Browser, freePort, REPO, tempDir } from "../fixtures/stack";

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn("SKIPPED test/install/privilege.test.ts: needs root for real sudo and users (CI runs as root)");

const WRAPPER = "/usr/local/bin/t3-mint";
const MAP = "/etc/ttyd-user-map";
const CONF = "/etc/t3-serve/t3-mint.conf";
const FAKE_CLI_DIR = "/usr/local/lib/t3-dispatch-test";
const CALLS = join(FAKE_CLI_DIR, "calls/log");
const USERS = ["t3alice", "t3bob"];
const UNMAPPED = "t3carol";
const UNITS = [
  "t3-dispatch.service",
  "t3-backup-state.service",
  "t3-backup-state.timer",
  "t3-autoupdate.service",
  "t3-autoupdate.timer",
];

/** The mint wrapper through sudo, as the service user runs it. */
const mint = (...args: string[]) => asService(["sudo", "-n", WRAPPER, ...args]);
const cliCalls = () => linesIn(CALLS);
const files = new SavedFiles();

describe.skipIf(!isRoot)("privilege boundary (real install, real sudo)", () => {
  const instances: Record<string, Child> = {};
  const cookieNames: Record<string, string> = {};
  let dispatcher: Child | undefined;
  const work = tempDir("t3d-priv-");

  beforeAll(async () => {
    const installed = await runToEnd(["bash", join(REPO, "install.sh")]);
    if (installed.code !== 0) throw new Error(`install.sh failed: ${installed.stderr}`);
    for (const user of [...USERS, UNMAPPED]) {
      if ((await runToEnd(["id", user])).code !== 0)
        await runToEnd(["useradd", "--create-home", "--shell", "/bin/sh", user]);
    }
    // The t3 CLI stand-in, root-owned; it logs each run where every user can append.
    mkdirSync(join(FAKE_CLI_DIR, "calls"), { recursive: true });
    chmodSync(join(FAKE_CLI_DIR, "calls"), 0o777);
    writeFileSync(
      join(FAKE_CLI_DIR, "t3"),
      `#!/bin/sh\necho "$(id -un) $*" >> ${CALLS}\nexec /usr/local/bin/t3-dispatch fake-t3 "$@"\n`,
    );
    chmodSync(join(FAKE_CLI_DIR, "t3"), 0o755);
    files.write(CONF, `T3_BIN=${FAKE_CLI_DIR}/t3\nUSER_MAP=${MAP}\nMINT_TIMEOUT=10\n`);
    files.write(MAP, "# test map\nalice t3alice\nbob t3bob\nadmin root\ndaemon daemon\n");
    const table: Record<string, { os_user: string; port: number }> = {};
    for (const user of USERS) {
      const home = `/home/${user}`;
      mkdirSync(`${home}/.t3/credentials`, { recursive: true });
      await runToEnd(["chown", "-R", `${user}:${user}`, `${home}/.t3`]);
      // Each instance runs as its own account: the dispatcher checks who holds the port.
      const port = await freePort();
      const version = user === "t3alice" ? "0.0.33" : "0.0.24";
      instances[user] = await startChild([
        "setpriv",
        `--reuid=${user}`,
        `--regid=${user}`,
        "--init-groups",
        "/usr/local/bin/t3-dispatch",
        "fake-instance",
        ...["--version", version, "--port", String(port), "--state-dir", `${home}/.t3`, "--owner", user],
      ]);
      cookieNames[user] = JSON.parse(instances[user].stderrLines.find((l) => l.includes('"listening"')) ?? "{}").cookie;
      table[user.slice(2)] = { os_user: user, port };
    }
    chmodSync(work, 0o755);
    writeFileSync(join(work, "dispatch.json"), JSON.stringify(table));
    chmodSync(join(work, "dispatch.json"), 0o644);
    dispatcher = await serveAsService(work);
  }, 60_000);

  afterAll(async () => {
    dispatcher?.process.kill("SIGTERM");
    await dispatcher?.process.exited;
    for (const instance of Object.values(instances)) {
      instance.process.kill("SIGTERM");
      await instance.process.exited;
    }
    files.restore();
    rmSync(work, { recursive: true, force: true });
  });

  test("install.sh is idempotent on the real host, and every unit passes systemd-analyze verify", async () => {
    const again = await runToEnd(["bash", join(REPO, "install.sh")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to change");
    const passwd = (await runToEnd(["getent", "passwd", "t3-dispatch"])).stdout.trim().split(":");
    expect(passwd[6]).toBe("/usr/sbin/nologin");
    expect(passwd[5]).toBe("/nonexistent");
    expect(existsSync("/nonexistent")).toBe(false);
    const shadow = (await runToEnd(["getent", "shadow", "t3-dispatch"])).stdout.split(":")[1] ?? "";
    expect(shadow).toMatch(/^[!*]/);
    for (const unit of UNITS) {
      const verify = await runToEnd(["systemd-analyze", "verify", `/etc/systemd/system/${unit}`]);
      expect({ unit, code: verify.code, stderr: verify.stderr }).toEqual({ unit, code: 0, stderr: "" });
    }
    // The timers catch up after downtime.
    for (const timer of UNITS.filter((u) => u.endsWith(".timer"))) {
      expect(readFileSync(`/etc/systemd/system/${timer}`, "utf8")).toContain("Persistent=true");
    }
  });

  test("e2e: a first visit auto-pairs through real sudo and the wrapper, minting as each OS user", async () => {
    const pid = dispatcher?.process.pid ?? 0;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`^Uid:\\s+${await uidOf("t3-dispatch")}\\s`, "m"));
    for (const user of USERS) {
      const browser = new Browser(dispatcher?.url ?? "", `${user.slice(2)}@example.com`);
      const started = performance.now();
      const first = await browser.fetch("/", { document: true });
      console.log(`e2e ${user}: first visit ${first.status} in ${Math.round(performance.now() - started)} ms`);
      expect(first.status).toBe(302);
      expect(browser.cookies.has(cookieNames[user] ?? "?")).toBe(true);
      expect(await (await browser.fetch("/", { document: true })).text()).toContain(`${user}'s workspace`);
      const log = readFileSync(`/home/${user}/.t3/mint.log`, "utf8");
      expect(log).toContain(`uid=${await uidOf(user)}`);
    }
  });

  test("the service user can sudo the wrapper and nothing else", async () => {
    const rows: string[] = [];
    for (const argv of [
      ["sudo", "-n", "/bin/true"],
      ["sudo", "-n", "/bin/sh", "-c", "id"],
      ["sudo", "-n", "-s"],
      ["sudo", "-n", "-i"],
      ["sudo", "-n", "-e", "/etc/sudoers"],
      ["sudo", "-n", "-u", "t3alice", WRAPPER, "t3alice"],
      ["sudo", "-n", "/usr/local/bin/t3-dispatch", "--version"],
      ["sudo", "-n", "/usr/local/bin/../bin/t3-mint-other"],
    ]) {
      const result = await asService(argv);
      rows.push(`${argv.join(" ").padEnd(48)} exit ${result.code}`);
      expect(result.code).not.toBe(0);
    }
    const listed = await asService(["sudo", "-n", "-l"]);
    expect(listed.stdout).toContain(`(root) NOPASSWD: ${WRAPPER}`);
    expect(listed.stdout.match(/NOPASSWD|PASSWD|ALL\) ALL/g)).toEqual(["NOPASSWD"]);
    console.log(`service user, refused by sudo:\n${rows.join("\n")}`);
  });

  test("the wrapper refuses bad targets, running nothing (negative-case table)", async () => {
    const long = "a".repeat(33);
    const cases: Array<[string, string[], number]> = [
      ["no argument", [], 64],
      ["two arguments", ["t3alice", "t3bob"], 64],
      ["empty", [""], 65],
      ["option-looking -h", ["-h"], 65],
      ["option-looking --help", ["--help"], 65],
      ["option-looking -u root", ["-u"], 65],
      ["path traversal ../t3alice", ["../t3alice"], 65],
      ["path traversal t3alice/../root", ["t3alice/../root"], 65],
      ["absolute path", ["/etc/passwd"], 65],
      ["shell ;", ["t3alice;id"], 65],
      ["shell &&", ["t3alice && id"], 65],
      ["shell $()", ["$(id)"], 65],
      ["shell backticks", ["`id`"], 65],
      ["shell pipe", ["t3alice|id"], 65],
      ["glob *", ["*"], 65],
      ["tilde ~root", ["~root"], 65],
      ["inner space", ["t3 alice"], 65],
      ["leading space", [" t3alice"], 65],
      ["trailing space", ["t3alice "], 65],
      ["tab", ["t3alice\t"], 65],
      ["newline", ["t3alice\n"], 65],
      ["newline + root", ["t3alice\nroot"], 65],
      ["upper case", ["T3ALICE"], 65],
      ["leading digit", ["3alice"], 65],
      ["Cyrillic а look-alike", ["t3\u0430lice"], 65],
      ["full-width ｔ look-alike", ["\uff543alice"], 65],
      ["zero-width space", ["t3alice\u200b"], 65],
      ["33 characters", [long], 65],
      ["5000 characters", ["x".repeat(5000)], 65],
      ["root (mapped!)", ["root"], 67],
      ["system account daemon (mapped!)", ["daemon"], 67],
      ["existing user not in the map", [UNMAPPED], 66],
      ["no such user, not in the map", ["t3nobody"], 66],
      ["nobody", ["nobody"], 66],
    ];
    const rows: string[] = [];
    for (const [name, args, expected] of cases) {
      const before = cliCalls();
      const result = await mint(...args);
      const ran = cliCalls() - before;
      rows.push(
        `| ${name.padEnd(32)} | ${String(result.code).padEnd(4)} | ${ran} | ${result.stderr.trim().split("\n")[0]}`,
      );
      expect({ name, code: result.code, ran, stdout: result.stdout }).toEqual({
        name,
        code: expected,
        ran: 0,
        stdout: "",
      });
    }
    console.log(`| case                             | exit | t3 CLI runs | message\n${rows.join("\n")}`);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  }, 30_000); // each case is a real sudo run (about 150 ms)

  test("a mapped user mints; a missing or writable map, or a writable settings file, fails closed", async () => {
    const ok = await mint("t3alice");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).credential).toMatch(/^[A-Za-z0-9_-]{12}$/);

    const before = cliCalls();
    renameSync(MAP, `${MAP}.moved`);
    const missing = await mint("t3alice").finally(() => renameSync(`${MAP}.moved`, MAP));
    expect([missing.code, missing.stderr.trim()]).toEqual([66, `t3-mint: user map ${MAP} is missing`]);

    chmodSync(MAP, 0o666);
    const writable = await mint("t3alice").finally(() => chmodSync(MAP, 0o644));
    expect(writable.code).toBe(69);

    chmodSync(CONF, 0o666);
    const conf = await mint("t3alice").finally(() => chmodSync(CONF, 0o644));
    expect(conf.code).toBe(69);
    expect(cliCalls()).toBe(before);
    console.log(
      `fail-closed: missing map → ${missing.code}, writable map → ${writable.code}, writable settings → ${conf.code}`,
    );
  });

  test("timeouts: the wrapper's own 124 is what the dispatcher reports; the dispatcher's SIGTERM reaches the mint", async () => {
    const slow = join(FAKE_CLI_DIR, "t3-slow");
    const pids = join(FAKE_CLI_DIR, "calls", "slow-pids");
    writeFileSync(slow, `#!/bin/sh\necho $$ >> ${pids}\nexec sleep 30\n`);
    chmodSync(slow, 0o755);
    const viaSudo = (timeoutMs: number) =>
      mintCredential("t3alice", {
        command: ["setpriv", "--reuid=t3-dispatch", "--regid=t3-dispatch", "--init-groups", "sudo", "-n", WRAPPER],
        timeoutMs,
        run: bunRuntime.runCommand,
      });
    const alive = (pid: string) => runToEnd(["kill", "-0", pid]).then((r) => r.code === 0);
    try {
      // The wrapper is the shorter: its exit 124 and message reach the dispatcher. No newline after the last line.
      files.write(CONF, `T3_BIN=${slow}\nUSER_MAP=${MAP}\nMINT_TIMEOUT=1`);
      const started = performance.now();
      const wrapperFirst = await viaSudo(5000);
      expect(String(wrapperFirst)).toContain("exited 124: t3-mint: mint for t3alice timed out after 1s");
      expect(performance.now() - started).toBeLessThan(4500);

      // The dispatcher is the shorter: its SIGTERM goes through sudo to the wrapper and on to the mint.
      files.write(CONF, `T3_BIN=${slow}\nUSER_MAP=${MAP}\nMINT_TIMEOUT=20\n`);
      rmSync(pids, { force: true });
      const dispatcherFirst = await viaSudo(1000);
      expect(String(dispatcherFirst)).toContain("timed out after 1000 ms");
      const pid = readFileSync(pids, "utf8").trim();
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = !(await alive(pid));
        if (!gone) await Bun.sleep(100);
      }
      expect({ mintGoneWithin5s: gone }).toEqual({ mintGoneWithin5s: true });

      // Settings the wrapper refuses, running nothing.
      const refused: Record<string, number> = {};
      files.write(CONF, `T3_BIN=${slow}\nUSER_MAP=${MAP}\nMINT_TIMEOUT=0\n`);
      refused["MINT_TIMEOUT=0"] = (await mint("t3alice")).code;
      const planted = join(FAKE_CLI_DIR, "calls", "t3"); // calls/ is writable by everyone
      writeFileSync(planted, readFileSync(join(FAKE_CLI_DIR, "t3")));
      chmodSync(planted, 0o755);
      files.write(CONF, `T3_BIN=${planted}\nUSER_MAP=${MAP}\nMINT_TIMEOUT=5\n`);
      refused["T3_BIN in a world-writable directory"] = (await mint("t3alice")).code;
      const link = join(FAKE_CLI_DIR, "t3-link");
      rmSync(link, { force: true });
      await runToEnd(["ln", "-s", planted, link]);
      files.write(CONF, `T3_BIN=${link}\nUSER_MAP=${MAP}\nMINT_TIMEOUT=5\n`);
      refused["T3_BIN a root link into a world-writable directory"] = (await mint("t3alice")).code;
      rmSync(planted);
      rmSync(link);
      console.log("wrapper settings refused:", refused);
      expect(Object.values(refused)).toEqual([69, 69, 69]);
    } finally {
      files.write(CONF, `T3_BIN=${FAKE_CLI_DIR}/t3\nUSER_MAP=${MAP}\nMINT_TIMEOUT=10\n`);
    }
  }, 30_000);

  test("t3-install-version: npm and the package's scripts run as t3-install; the tree ends root-owned, nothing of theirs left running", async () => {
    // A local t3 package (no registry): its postinstall records who ran it, tries root's files, leaves a process behind.
    const pkg = join(FAKE_CLI_DIR, "pkg");
    const prefix = "/opt/t3-test";
    rmSync(pkg, { recursive: true, force: true });
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({
        name: "t3",
        version: "0.0.99",
        bin: { t3: "t3.js" },
        scripts: { postinstall: "sh postinstall.sh" },
      }),
    );
    writeFileSync(join(pkg, "t3.js"), "#!/usr/bin/env node\nconsole.log('0.0.99');\n");
    writeFileSync(
      join(pkg, "postinstall.sh"),
      [
        "id -u > ran-as",
        "if touch /etc/t3-install-pwned 2>/dev/null; then echo yes; else echo no; fi > wrote-etc",
        "if ln /etc/passwd passwd-link 2>/dev/null; then echo yes; else echo no; fi > linked-root-file",
        "setsid sleep 300 </dev/null >/dev/null 2>&1 &",
        "",
      ].join("\n"),
    );
    const packed = await runToEnd(["npm", "pack", "--silent", "--pack-destination", FAKE_CLI_DIR, pkg]);
    expect(packed.code).toBe(0);
    const settings = "/etc/t3-serve/t3-install.conf";
    const install = (version: string) => runToEnd(["/usr/local/bin/t3-install-version", version]);
    const installUid = await uidOf("t3-install");
    try {
      files.write(settings, `PREFIX_ROOT=${prefix}\nSPEC=${FAKE_CLI_DIR}/t3-{version}.tgz\nINSTALL_TIMEOUT=120`);
      // A hostile version is refused before anything is made or run.
      for (const version of ["../../etc", "0.0.99;id", "--help"]) expect((await install(version)).code).toBe(65);
      expect(existsSync(prefix)).toBe(false);

      const result = await install("0.0.99");
      expect(result.code).toBe(0);
      const tree = join(prefix, "0.0.99", "lib", "node_modules", "t3");
      const facts = {
        scriptsRanAs: Number(readFileSync(join(tree, "ran-as"), "utf8")),
        wroteEtc: readFileSync(join(tree, "wrote-etc"), "utf8").trim(),
        linkedRootFile: readFileSync(join(tree, "linked-root-file"), "utf8").trim(),
        leftRunning: (await runToEnd(["pgrep", "-u", "t3-install"])).stdout.trim(),
        notRootOwned: (await runToEnd(["find", join(prefix, "0.0.99"), "!", "-user", "root"])).stdout.trim(),
        writableByOthers: (
          await runToEnd(["find", join(prefix, "0.0.99"), "-perm", "/022", "!", "-type", "l"])
        ).stdout.trim(),
        staging: existsSync(join(prefix, ".staging-0.0.99")),
        runs: (await runToEnd([join(prefix, "0.0.99", "bin", "t3")])).stdout.trim(),
      };
      expect(facts).toEqual({
        scriptsRanAs: installUid,
        wroteEtc: "no",
        linkedRootFile: "no",
        leftRunning: "",
        notRootOwned: "",
        writableByOthers: "",
        staging: false,
        runs: "0.0.99",
      });
      expect(existsSync("/etc/t3-install-pwned")).toBe(false);
      // Installed once: a second call leaves it as it is.
      expect((await install("0.0.99")).stdout).toContain("already installed");
    } finally {
      rmSync(prefix, { recursive: true, force: true });
      rmSync(pkg, { recursive: true, force: true });
      rmSync(join(FAKE_CLI_DIR, "t3-0.0.99.tgz"), { force: true });
      await runToEnd(["pkill", "-KILL", "-u", "t3-install"]);
    }
  }, 180_000);
});
