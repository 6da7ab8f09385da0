// A stopped dispatcher leaves nothing running in its process: the table poll
// and the file watch reload nothing more, and the listeners and the shutdown
// deadline's timer are released, so a process that embeds it ends on its own
// (well before the deadline) instead of being held up by what the stop forgot.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { RUNTIME_UNDER_TEST, tempDir, until } from "../fixtures/stack";

const FIXTURE = resolve(import.meta.dir, "../fixtures/serve-then-stop.ts");

describe("lifecycle", () => {
  test("after stop() nothing holds the process: it exits by itself, long before the shutdown deadline", async () => {
    const dir = tempDir("t3d-lifecycle-");
    const table = join(dir, "dispatch.json");
    writeFileSync(table, JSON.stringify({ alice: { os_user: "alice", port: 1 } }));
    const flags = {
      listen: "127.0.0.1:0",
      metricsListen: "127.0.0.1:0",
      dispatchFile: table,
      reloadInterval: "100ms",
      shutdownTimeout: "30s",
      identityProof: "peer",
      secretFile: join(dir, "cookie-secret"),
      mintCommand: "true",
    };
    const child = Bun.spawn([...RUNTIME_UNDER_TEST, FIXTURE, JSON.stringify(flags)], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      let out = "";
      const reading = (async () => {
        for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk);
      })();
      await until(() => out.includes("stopping"), 30_000); // Deno compiles the module first
      // A leftover 30 s deadline timer or listener would keep it alive: give it a tenth of that.
      const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      await Promise.race([reading, Bun.sleep(1000)]); // the last line, once the pipe closes
      expect({ report: out.trim().split("\n").at(-1), ended, exitCode: child.exitCode }).toEqual({
        report: JSON.stringify({ stopped: true, reloadsAfterStop: 0 }),
        ended: true,
        exitCode: 0,
      });
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
