// The dispatch table: periodic reload keeping the last good table, SIGHUP,
// and a start-up that refuses a bad table with every error listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeT3 } from "../../src/demo/fake-t3";
import { runToEnd, startChild } from "../fixtures/child";
import { Browser, fakeMintCommand, REPO, type Stack, startStack, tempDir, until } from "../fixtures/stack";

const MAIN = join(REPO, "src/main.ts");

describe("reload (in-process server, 100 ms poll)", () => {
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
    await until(() => stack.dispatcher.routing.lookup("zed") !== undefined);
    expect((await new Browser(stack.url, "zed").fetch("/", { document: true })).status).toBe(302);
  });
});

describe("the serve command as a child process", () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a bad table at start-up: exit 1 with every error listed", async () => {
    const table = join(dir, "bad.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "-x", port: 0 }, "B B": {} }));
    const result = await runToEnd([
      process.execPath,
      MAIN,
      "serve",
      "--dispatch-file",
      table,
      "--listen",
      "127.0.0.1:0",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("/alice/os_user");
    expect(result.stderr).toContain("/alice/port");
    expect(result.stderr).toContain("/B B: user name must match");
  });

  test("a missing table at start-up: exit 1 naming the file", async () => {
    const result = await runToEnd([process.execPath, MAIN, "serve", "--dispatch-file", join(dir, "none.json")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("none.json");
  });

  test("bad settings: exit 2 with each problem", async () => {
    const result = await runToEnd([
      process.execPath,
      MAIN,
      "serve",
      "--session-timeout",
      "soon",
      "--listen",
      "nowhere",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("sessionTimeout");
  });

  test("SIGHUP reloads the table at once; SIGTERM stops cleanly", async () => {
    const instance = startFakeT3({ version: "0.0.25", stateDir: join(dir, "alice"), owner: "alice" });
    const table = join(dir, "dispatch.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "alice", port: instance.port } }));
    const child = await startChild([
      process.execPath,
      MAIN,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--dispatch-file",
      table,
      "--reload-interval",
      "1h",
      "--mint-command",
      fakeMintCommand(dir),
      "--metrics-listen",
      "127.0.0.1:0",
      "--secret-file",
      join(dir, "secret"),
    ]);
    try {
      expect((await new Browser(child.url, "bob").fetch("/", { document: true })).status).toBe(403);
      writeFileSync(table, JSON.stringify({ bob: { os_user: "alice", port: instance.port } }));
      child.process.kill("SIGHUP");
      let status = 0;
      for (let i = 0; i < 50 && status !== 302; i++) {
        status = (await new Browser(child.url, "bob").fetch("/", { document: true })).status;
        if (status !== 302) await Bun.sleep(50);
      }
      expect(status).toBe(302);
      child.process.kill("SIGTERM");
      expect(await child.process.exited).toBe(0);
    } finally {
      child.process.kill();
      await instance.stop();
    }
  });
});
