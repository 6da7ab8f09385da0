// The instance wrapper for real, as root: install.sh on this host, real
// accounts, real sudo, /usr/local/bin/t3-instance, and the dispatcher as the
// t3-dispatch user starting a person's instance on demand through them. CI has
// no running systemd, so the wrapper's SYSTEMCTL is a root-owned stand-in that
// runs the unit's steps itself: its ExecStartPre (`t3-instance env`, as root),
// then the instance (a fake t3) as the account, with the port the wrapper wrote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, runToEnd } from "../fixtures/child";
import { progressEvents } from "../fixtures/on-demand-stack";
import { asService, linesIn, SavedFiles, serveAsService, uidOf } from "../fixtures/root-host";
import { Browser, freePort, REPO, tempDir } from "../fixtures/stack";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("SKIPPED test/install/instance-wrapper.test.ts: needs root for real sudo and users");

const WRAPPER = "/usr/local/bin/t3-instance";
const MAP = "/etc/ttyd-user-map";
const CONF = "/etc/t3-serve/t3-instance.conf";
const MINT_CONF = "/etc/t3-serve/t3-mint.conf";
const STAND_IN = "/usr/local/lib/t3-dispatch-test-units";
const CALLS = join(STAND_IN, "calls/log");
const PERSON = "t3dora";
const UNMAPPED = "t3carol";

/** systemctl as the t3-serve@ unit would run: ExecStartPre as root, then the instance as the account. */
const SYSTEMCTL = `#!/bin/sh
echo "$*" >> ${CALLS}
u=\${2#t3-serve@}; u=\${u%.service}
pidfile=/run/t3-units-test/$u.pid
mkdir -p /run/t3-units-test
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case $1 in
  start)
    alive && exit 0
    /usr/local/bin/t3-instance env "$u" || exit 1
    port=$(sed -n 's/^T3CODE_PORT=//p' /run/t3-serve/$u.env); home=$(sed -n 's/^T3CODE_HOME=//p' /run/t3-serve/$u.env)
    setsid setpriv --reuid="$u" --regid="$u" --init-groups env -i PATH=/usr/bin:/bin \\
      /usr/local/bin/t3-dispatch fake-instance --port "$port" --state-dir "$home" --owner "$u" </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile" ;;
  stop) alive && kill "$(cat "$pidfile")"; rm -f "$pidfile" ;;
  show)
    if alive; then
      pid=$(cat "$pidfile")
      echo ActiveState=active
      echo "ActiveEnterTimestamp=$(date -d @"$(stat -c %Y "$pidfile")")"
      echo "MemoryCurrent=$(($(awk '/VmRSS/ { print $2 }' /proc/$pid/status) * 1024))"
      echo "CPUUsageNSec=$(($(awk '{ print $14 + $15 }' /proc/$pid/stat) * 10000000))"
    else
      printf 'ActiveState=inactive\\nActiveEnterTimestamp=\\nMemoryCurrent=[not set]\\nCPUUsageNSec=[not set]\\n'
    fi ;;
  *) exit 1 ;;
esac
`;
/** The unit's journal as t3 writes it at start: a line of its own, then its one-time pairing token, URL and QR code. */
const JOURNALCTL = `#!/bin/sh
printf '%s\\n' "journal of \${1#_SYSTEMD_UNIT=}: \\"quoted\\" and a\\\\backslash"
printf '%s\\n' "Pair a browser: http://127.0.0.1:4310/pair#token=Qk3xV9aLmP2z" "Token: Qk3xV9aLmP2z"
printf '%s\\n' "█▀▀▀▀▀█ ▄▀▄ █▀▀▀▀▀█" "▀▀▀▀▀▀▀ ▀ ▀ ▀▀▀▀▀▀▀"
`;
/** The t3 CLI stand-in for the mint: credentials the fake instance accepts. */
const T3_CLI = '#!/bin/sh\nexec /usr/local/bin/t3-dispatch fake-t3 "$@"\n';

const instance = (...args: string[]) => asService(["sudo", "-n", WRAPPER, ...args]);
const unitCalls = () => linesIn(CALLS);
const files = new SavedFiles();

function script(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

describe.skipIf(!isRoot)("t3-instance (real install, real sudo, real accounts)", () => {
  const work = tempDir("t3d-instance-");
  let port = 0;
  let dispatcher: Child | undefined;

  beforeAll(async () => {
    const installed = await runToEnd(["bash", join(REPO, "install.sh")]);
    if (installed.code !== 0) throw new Error(`install.sh failed: ${installed.stderr}`);
    for (const user of [PERSON, UNMAPPED]) {
      if ((await runToEnd(["id", user])).code !== 0)
        await runToEnd(["useradd", "--create-home", "--shell", "/bin/sh", user]);
    }
    mkdirSync(join(STAND_IN, "calls"), { recursive: true });
    chmodSync(join(STAND_IN, "calls"), 0o777);
    script(join(STAND_IN, "systemctl"), SYSTEMCTL);
    script(join(STAND_IN, "journalctl"), JOURNALCTL);
    script(join(STAND_IN, "t3"), T3_CLI);
    port = await freePort();
    chmodSync(work, 0o755);
    writeFileSync(join(work, "dispatch.json"), JSON.stringify({ dora: { os_user: PERSON, port } }));
    chmodSync(join(work, "dispatch.json"), 0o644);
    files.write(MAP, `# test map\ndora ${PERSON}\nadmin root\ndaemon daemon\n`);
    files.write(
      CONF,
      `USER_MAP=${MAP}\nDISPATCH_FILE=${join(work, "dispatch.json")}\nSYSTEMCTL=${STAND_IN}/systemctl\nJOURNALCTL=${STAND_IN}/journalctl\n`,
    );
    files.write(MINT_CONF, `T3_BIN=${STAND_IN}/t3\nUSER_MAP=${MAP}\nMINT_TIMEOUT=10\n`);
  }, 60_000);

  afterAll(async () => {
    dispatcher?.process.kill("SIGTERM");
    await dispatcher?.process.exited;
    await runToEnd([join(STAND_IN, "systemctl"), "stop", `t3-serve@${PERSON}.service`]);
    files.restore();
    rmSync(STAND_IN, { recursive: true, force: true });
    rmSync(`/run/t3-serve/${PERSON}.env`, { force: true });
    rmSync("/opt/t3/instances", { recursive: true, force: true });
    rmSync("/opt/t3/test-version", { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  test("the unit template passes systemd-analyze verify as an instance", async () => {
    // Its ExecStart must exist: the autoupdate layout, /opt/t3/instances/<os_user> → a version.
    mkdirSync("/opt/t3/test-version/bin", { recursive: true });
    copyFileSync(join(STAND_IN, "t3"), "/opt/t3/test-version/bin/t3");
    chmodSync("/opt/t3/test-version/bin/t3", 0o755);
    mkdirSync("/opt/t3/instances", { recursive: true });
    rmSync(`/opt/t3/instances/${PERSON}`, { force: true });
    await runToEnd(["ln", "-s", "/opt/t3/test-version", `/opt/t3/instances/${PERSON}`]);
    const dir = tempDir("t3d-unit-");
    try {
      const unit = join(dir, `t3-serve@${PERSON}.service`);
      copyFileSync("/etc/systemd/system/t3-serve@.service", unit);
      const verify = await runToEnd(["systemd-analyze", "verify", unit]);
      expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("sudo lets the service user run start, stop and status of the wrapper, and nothing else", async () => {
    const refused: string[] = [];
    for (const argv of [
      [WRAPPER, "env", PERSON],
      [WRAPPER, "restart", PERSON],
      [WRAPPER, "start"],
      [WRAPPER],
      [`${STAND_IN}/systemctl`, "start", `t3-serve@${PERSON}.service`],
      ["/usr/bin/systemctl", "start", `t3-serve@${PERSON}.service`],
    ]) {
      const result = await asService(["sudo", "-n", ...argv]);
      refused.push(`${argv.join(" ")} → exit ${result.code}`);
      expect({ argv, code: result.code }).toEqual({ argv, code: 1 }); // sudo's own refusal
    }
    console.log(`refused by sudo:\n${refused.join("\n")}`);
    expect(unitCalls()).toBe(0);
    const listed = await asService(["sudo", "-n", "-l"]);
    const oneLine = listed.stdout.replace(/\s+/g, " "); // sudo wraps long lines
    for (const verb of ["start", "stop", "status"]) expect(oneLine).toContain(`${WRAPPER} ${verb} *`);
  });

  test("the wrapper refuses hostile arguments, running nothing (negative-case table)", async () => {
    const cases: Array<[string, string[], number]> = [
      ["three arguments", ["start", PERSON, "extra"], 64],
      ["option-looking name", ["start", "--help"], 65],
      ["path traversal", ["start", `../${PERSON}`], 65],
      ["absolute path", ["status", "/etc/passwd"], 65],
      ["shell ;", ["start", `${PERSON};id`], 65],
      ["shell $()", ["stop", "$(id)"], 65],
      ["newline + root", ["start", `${PERSON}\nroot`], 65],
      ["unit-looking name", ["start", `${PERSON}.service`], 65],
      ["glob", ["start", "*"], 65],
      ["upper case", ["start", PERSON.toUpperCase()], 65],
      ["33 characters", ["status", "a".repeat(33)], 65],
      ["root (mapped!)", ["start", "root"], 67],
      ["system account daemon (mapped!)", ["start", "daemon"], 67],
      ["existing user not in the map", ["start", UNMAPPED], 66],
      ["no such user", ["status", "t3nobody"], 66],
    ];
    const rows: string[] = [];
    for (const [name, args, expected] of cases) {
      const before = unitCalls();
      const result = await instance(...args);
      const ran = unitCalls() - before;
      rows.push(`| ${name.padEnd(32)} | ${result.code} | ${ran} | ${result.stderr.trim().split("\n")[0]}`);
      expect({ name, code: result.code, ran, stdout: result.stdout }).toEqual({
        name,
        code: expected,
        ran: 0,
        stdout: "",
      });
    }
    console.log(`| case | exit | systemctl runs | message\n${rows.join("\n")}`);
  }, 30_000); // each case is a real sudo run

  test("settings that could steer root are refused: a writable conf, a systemctl others can change, no port", async () => {
    const codes: Record<string, number> = {};
    chmodSync(CONF, 0o666);
    codes["writable conf"] = (await instance("status", PERSON)).code;
    chmodSync(CONF, 0o644);
    const planted = join(STAND_IN, "calls", "systemctl"); // calls/ is writable by everyone
    script(planted, SYSTEMCTL);
    const conf = readFileSync(CONF, "utf8");
    writeFileSync(CONF, conf.replace(`${STAND_IN}/systemctl`, planted));
    codes["systemctl in a world-writable directory"] = (await instance("status", PERSON)).code;
    writeFileSync(CONF, conf.replace(join(work, "dispatch.json"), join(work, "none.json")));
    codes["no table (env, as the unit runs it)"] = (await runToEnd([WRAPPER, "env", PERSON])).code;
    writeFileSync(CONF, conf);
    rmSync(planted);
    console.log("settings refused:", codes);
    expect(codes).toEqual({
      "writable conf": 69,
      "systemctl in a world-writable directory": 69,
      "no table (env, as the unit runs it)": 68,
    });
  });

  test("status is JSON: inactive, then active with memory and CPU; the journal lines escaped, t3's pairing token not there", async () => {
    const stopped = await instance("status", PERSON);
    expect(stopped.code).toBe(0);
    expect(JSON.parse(stopped.stdout)).toEqual({
      unit: `t3-serve@${PERSON}.service`,
      active: "inactive",
      since: null,
      memory_bytes: null,
      cpu_usec: null,
      journal: [`journal of t3-serve@${PERSON}.service: "quoted" and a\\backslash`],
    });
    expect(stopped.stdout).not.toContain("Qk3xV9aLmP2z");
  });

  test("e2e: a first visit starts the person's instance through real sudo, as their account, on the table's port", async () => {
    dispatcher = await serveAsService(work);
    const browser = new Browser(dispatcher.url, "dora@example.com");
    const page = await browser.fetch("/", { document: true });
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining("Starting dora's workspace")]);
    const events = await progressEvents(() => browser.fetch("/_t3d/start/events"));
    expect(events.at(-1)?.outcome).toBe("ready");
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    expect(await (await browser.fetch("/", { document: true })).text()).toContain(`${PERSON}'s workspace`);

    const env = `/run/t3-serve/${PERSON}.env`;
    const written = statSync(env);
    expect([written.uid, written.mode & 0o777]).toEqual([0, 0o644]);
    expect(readFileSync(env, "utf8")).toBe(`T3CODE_PORT=${port}\nT3CODE_HOME=/home/${PERSON}/.t3\n`);
    const pid = readFileSync(`/run/t3-units-test/${PERSON}.pid`, "utf8").trim();
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${await uidOf(PERSON)}\\s`, "m"));
    const running = JSON.parse((await instance("status", PERSON)).stdout);
    expect(running).toMatchObject({ active: "active", since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect([typeof running.memory_bytes, typeof running.cpu_usec]).toEqual(["number", "number"]);
    expect(readFileSync(CALLS, "utf8")).toContain(`start t3-serve@${PERSON}.service`);
  }, 60_000);
});
