// Smoke test of the compiled executable: it runs with no Bun on PATH, serves,
// pairs through a real mint child process, bridges a WebSocket, runs the demo.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json";
import { startFakeT3 } from "../../src/demo/fake-t3";
import { runToEnd, startChild } from "../fixtures/child";
import { progressEvents } from "../fixtures/on-demand-stack";
import { Browser, isolatedSettings, REPO, settingsEnv, tempDir } from "../fixtures/stack";

const BINARY = join(REPO, "dist/t3-dispatch");
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// No node_modules/.bin on PATH: the binary must not need Bun.
const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: dir };

/** Opens a WebSocket, sends one text frame and resolves with the echo. */
function echo(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.onopen = () => ws.send('{"a": 1}');
    ws.onmessage = (event) => {
      resolve(event.data as string);
      ws.close();
    };
    ws.onerror = () => reject(new Error(`WebSocket ${url} failed`));
  });
}

describe("dist/t3-dispatch", () => {
  test("exists (built by `npm run build`, which `npm test` runs first)", () => {
    expect(existsSync(BINARY)).toBe(true);
  });

  test("--version and --help", async () => {
    const version = await runToEnd([BINARY, "--version"]);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    const help = await runToEnd([BINARY, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("t3-dispatch serve");
    expect(help.stdout).toContain("--dispatch-file");
    expect((await runToEnd([BINARY, "bogus"])).code).toBe(64);
  });

  test("every subcommand answers --help with its own usage (exit 0) and an unknown flag with it (exit 2)", async () => {
    const commands = ["serve", "demo", "check", "healthcheck", "backup", "restore", "autoupdate"];
    const seen: Record<string, unknown> = {};
    for (const command of commands) {
      const help = await runToEnd([BINARY, command, "--help"]);
      const bad = await runToEnd([BINARY, command, "--no-such-flag"]);
      seen[command] = {
        help: [help.code, help.stdout.startsWith(`Usage: t3-dispatch ${command}`), help.stderr],
        bad: [bad.code, bad.stderr.includes("'--no-such-flag'"), bad.stderr.includes(`Usage: t3-dispatch ${command}`)],
      };
    }
    expect(seen).toEqual(Object.fromEntries(commands.map((c) => [c, { help: [0, true, ""], bad: [2, true, true] }])));
    // A missing value names the command's usage too.
    expect((await runToEnd([BINARY, "restore", "--user"])).stderr).toContain("Usage: t3-dispatch restore --user U");
  });

  test("serve: pairs (mint as a child of the binary), proxies, bridges a WebSocket, stops on SIGTERM", async () => {
    const instance = startFakeT3({ version: "0.0.33", stateDir: join(dir, "alice"), owner: "alice" });
    const table = join(dir, "dispatch.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "alice", port: instance.port } }));
    const child = await startChild([BINARY, "serve", "--listen", "127.0.0.1:0", "--dispatch-file", table], 15_000, {
      ...env,
      ...settingsEnv(isolatedSettings(dir, ["alice"])),
      T3D_MINT_COMMAND: `${BINARY} fake-mint --state-root ${dir}`,
    });
    try {
      const browser = new Browser(child.url, "alice@example.com");
      expect((await browser.fetch("/", { document: true })).status).toBe(302);
      expect(browser.cookies.has(instance.cookieName)).toBe(true);
      expect(await (await browser.fetch("/", { document: true })).text()).toContain("alice's workspace");
      const echoed = await echo(`${child.url.replace("http", "ws")}/ws`, await browser.socketHeaders());
      expect(echoed).toBe('{"a": 1}');
      child.process.kill("SIGTERM");
      expect(await child.process.exited).toBe(0);
    } finally {
      child.process.kill();
      await instance.stop();
    }
  });

  test("demo: prints the URL; a picked user lands paired in their own workspace", async () => {
    const demo = Bun.spawn([BINARY, "demo", "--port", "0"], { env, stdout: "pipe", stderr: "ignore" });
    try {
      const reader = demo.stdout.getReader();
      let out = "";
      const deadline = Date.now() + 15_000;
      while (!/Open (http:\/\/\S+)\//.test(out) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const url = /Open (http:\/\/\S+)\//.exec(out)?.[1];
      expect(url).toBeDefined();
      for (const user of ["alice", "bob"]) {
        const browser = new Browser(url ?? "", undefined);
        expect((await browser.fetch(`/__front/login?user=${user}`)).status).toBe(302);
        if (user === "bob") {
          // bob's instance is stopped: the progress page, its events to ready, then the deep link pairs.
          const page = await browser.fetch("/", { document: true });
          expect([page.status, await page.text()]).toEqual([200, expect.stringContaining("Starting bob's workspace")]);
          const events = await progressEvents(() => browser.fetch("/_t3d/start/events"));
          expect(events.at(-1)?.outcome).toBe("ready");
        }
        expect((await browser.fetch("/", { document: true })).status).toBe(302); // auto-pair
        expect(await (await browser.fetch("/", { document: true })).text()).toContain(`${user}'s workspace`);
        // The page's WebSocket, through the front and the dispatcher.
        expect(await echo(`${url?.replace("http", "ws")}/ws`, { cookie: browser.cookieHeader })).toBe('{"a": 1}');
      }
    } finally {
      demo.kill("SIGTERM");
      await demo.exited;
    }
  });
});
