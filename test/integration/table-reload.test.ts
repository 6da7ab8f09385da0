// The dispatch table: periodic reload keeping the last good table, SIGHUP,
// and a start-up that refuses a bad table with every error listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeT3 } from "../../src/demo/fake-t3";
import { runToEnd, startChild } from "../fixtures/child";
import {
  Browser,
  fakeMintCommand,
  isolatedSettings,
  type Stack,
  serveCommand,
  startStack,
  tempDir,
  until,
} from "../fixtures/stack";

/** Polls until `user` is routed (a first visit pairs: 302). */
async function untilRouted(url: string, user: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await new Browser(url, user).fetch("/", { document: true })).status !== 302) {
    if (Date.now() > deadline) throw new Error(`${user} was never routed`);
    await Bun.sleep(20);
  }
}

describe("reload (100 ms poll)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ alice: "0.0.25" }, { settings: { reloadInterval: "100ms" } });
  });
  afterAll(() => stack.stop());

  const failures = () => stack.log.lines.filter((l) => l.event === "table_reload_failed").length;

  test.each([
    ["malformed JSON", () => writeFileSync(stack.tablePath, '{"alice": {"os_user": "alice", "port": ')],
    [
      "an invalid entry",
      () => writeFileSync(stack.tablePath, JSON.stringify({ alice: { os_user: "Alice!", port: 1 } })),
    ],
    ["an empty file", () => writeFileSync(stack.tablePath, "")],
    ["a deleted file", () => rmSync(stack.tablePath)],
  ])("%s keeps the last good table and logs why", async (_name, breakIt) => {
    const before = failures();
    breakIt();
    await until(() => failures() > before);
    const response = await new Browser(stack.url, "alice").fetch("/", { document: true });
    expect(response.status).toBe(302); // still routed: paired with alice's instance
    const line = stack.log.lines.findLast((l) => l.event === "table_reload_failed");
    expect(line?.level).toBe("error");
    expect(String(line?.errors)).not.toBe("");
  });

  test("a good file is picked up", async () => {
    const port = stack.instances.alice?.port ?? 0;
    writeFileSync(
      stack.tablePath,
      JSON.stringify({ alice: { os_user: "alice", port }, zed: { os_user: "alice", port } }),
    );
    await untilRouted(stack.url, "zed");
  });
});

describe("reload by file watch", () => {
  test("a table renamed into place is picked up by the watch alone (no poll, no SIGHUP), and counted", async () => {
    const stack = await startStack({ alice: "0.0.25" }, { settings: { reloadInterval: "1h" } });
    try {
      const port = stack.instances.alice?.port ?? 0;
      // Written elsewhere and renamed into place, as config tools do.
      const staged = `${stack.tablePath}.new`;
      writeFileSync(staged, JSON.stringify({ alice: { os_user: "alice", port }, zoe: { os_user: "alice", port } }));
      await runToEnd(["mv", staged, stack.tablePath]);
      await untilRouted(stack.url, "zoe", 3000);
      const metrics = await (await fetch(`${stack.metricsUrl}/metrics`)).text();
      expect(metrics).toMatch(/^t3d_table_reloads_total\{result="ok"\} [1-9]/m);
    } finally {
      await stack.stop();
    }
  });
});

describe("the serve command as a child process", () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a bad table at start-up: exit 2 (not restarted) with every error listed", async () => {
    const table = join(dir, "bad.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "-x", port: 0 }, "B B": {} }));
    const result = await runToEnd(serveCommand({ dispatchFile: table, listen: "127.0.0.1:0" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("/alice/os_user");
    expect(result.stderr).toContain("/alice/port");
    expect(result.stderr).toContain("/B B: must be a user name or user@domain");
  });

  test("a missing table at start-up: exit 2 naming the file", async () => {
    const result = await runToEnd(serveCommand({ dispatchFile: join(dir, "none.json") }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("none.json");
  });

  test("an address that is not there (yet): exit 1, which the unit retries, not 2", async () => {
    const table = join(dir, "listen.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "alice", port: 4999 } }));
    const result = await runToEnd(
      serveCommand({ dispatchFile: table, listen: "198.18.250.250:8080", ...isolatedSettings(dir, ["alice"]) }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/EADDRNOTAVAIL|Cannot assign requested address/); // Bun's words, Deno's
  });

  test("bad settings: exit 2 with each problem", async () => {
    const result = await runToEnd(serveCommand({ sessionTimeout: "soon", listen: "nowhere" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("sessionTimeout");
  });

  test("SIGHUP reloads the table at once; SIGTERM stops cleanly", async () => {
    const instance = startFakeT3({ version: "0.0.25", stateDir: join(dir, "alice"), owner: "alice" });
    const table = join(dir, "dispatch.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "alice", port: instance.port } }));
    const child = await startChild(
      serveCommand({
        listen: "127.0.0.1:0",
        dispatchFile: table,
        reloadInterval: "1h",
        mintCommand: fakeMintCommand(dir),
        ...isolatedSettings(dir, ["alice"]),
      }),
    );
    try {
      expect((await new Browser(child.url, "bob").fetch("/", { document: true })).status).toBe(403);
      writeFileSync(table, JSON.stringify({ bob: { os_user: "alice", port: instance.port } }));
      child.process.kill("SIGHUP");
      await untilRouted(child.url, "bob", 2500);
      child.process.kill("SIGTERM");
      expect(await child.process.exited).toBe(0);
    } finally {
      child.process.kill();
      await instance.stop();
    }
  });
});
