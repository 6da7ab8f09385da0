// The real-handshake health check against real fake instances, with the
// fake mint run as a child process, in-process and as the CLI subcommand.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeT3, type FakeVersion, type Faults, startFakeT3 } from "../../src/demo/fake-t3";
import { checkInstance, type HealthDeps } from "../../src/ops/healthcheck";
import { InstanceDown, InstanceImpostor } from "../../src/request/instance/check";
import { mintCredential } from "../../src/request/pairing/mint";
import { bunRuntime } from "../../src/runtime/bun/runtime";
import { runToEnd } from "../fixtures/child";
import { accountsFile, fakeMintCommand, REPO, tempDir } from "../fixtures/stack";

const root = tempDir();
const started: FakeT3[] = [];
afterAll(async () => {
  for (const instance of started) await instance.stop();
  rmSync(root, { recursive: true, force: true });
});

function instance(user: string, version: FakeVersion, faults?: Faults) {
  const fake = startFakeT3({ version, stateDir: join(root, user), owner: user, faults });
  started.push(fake);
  return { fake, route: { user, osUser: user, port: fake.port } };
}

const deps = (mintMode = "ok"): HealthDeps => ({
  mint: (osUser) =>
    mintCredential(osUser, {
      command: fakeMintCommand(root, mintMode).split(" "),
      timeoutMs: 10_000,
      run: bunRuntime.runCommand,
    }),
  probeWebSocket: bunRuntime.probeWebSocket,
  upstreamHost: "127.0.0.1",
  timeoutMs: 2000,
});

describe("healthcheck", () => {
  test.each([
    ["0.0.24", "/api/auth/bootstrap"],
    ["0.0.25", "/api/auth/browser-session"],
    ["0.0.33", "/api/auth/browser-session"],
  ] as const)("passes on the %s contract, all four steps timed", async (version, endpoint) => {
    // The session check is made slow, so the timing is seen on the step that took it.
    const { route } = instance(`h${version.replaceAll(".", "")}`, version, { slowSessionMs: 150 });
    const result = await checkInstance(route, deps());
    expect(result.ok).toBe(true);
    expect(result.endpoint).toBe(endpoint);
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([
      ["mint", true],
      ["exchange", true],
      ["session", true],
      ["websocket", true],
    ]);
    const ms = Object.fromEntries(result.steps.map((s) => [s.step, s.ms]));
    expect(ms.session).toBeGreaterThanOrEqual(150);
    for (const step of result.steps) expect(Number.isInteger(step.ms)).toBe(true);
  });

  test.each([
    ["a broken mint", "fail", {}, "mint", "mint_failed"],
    ["a rejected credential", "ok", { pairing: "reject" }, "exchange", "401"],
    ["a session that stays unauthenticated", "ok", { session: "never" }, "session", "authenticated: false"],
    ["a dead WebSocket", "ok", { websocket: "refuse" }, "websocket", "Expected 101 status code: 503"],
  ] as const)("fails on %s, naming the step", async (_name, mintMode, faults, failedStep, detail) => {
    const { route } = instance(`f${failedStep}`, "0.0.25", faults);
    const result = await checkInstance(route, deps(mintMode));
    expect(result.ok).toBe(false);
    const last = result.steps.at(-1);
    expect(last?.step).toBe(failedStep);
    expect(last?.ok).toBe(false);
    expect(last?.detail ?? "").toContain(detail);
    expect(result.steps.slice(0, -1).every((s) => s.ok)).toBe(true);
  });

  test("an instance that does not answer fails at exchange within the timeout", async () => {
    const { fake, route } = instance("gone", "0.0.25");
    await fake.stop();
    const result = await checkInstance(route, deps());
    expect(result.steps.map((s) => s.step)).toEqual(["mint", "exchange"]);
    expect(result.ok).toBe(false);
  });

  test("a port nothing listens on fails at the instance step and names the unit to look at", async () => {
    const { route } = instance("stopped", "0.0.25");
    const down = { fresh: () => new InstanceDown(route) };
    const result = await checkInstance(route, { ...deps(), instances: down });
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([["instance", false]]);
    expect(result.steps[0]?.detail).toContain(`see systemctl status t3-serve@${route.osUser}`);
  });

  test("a port held by another account fails at the instance step: nothing minted", async () => {
    const { route } = instance("squatted", "0.0.25");
    let mints = 0;
    const impostor = { fresh: () => new InstanceImpostor(route, 4242, 1001) };
    const result = await checkInstance(route, { ...deps(), instances: impostor, mint: async () => `m${++mints}` });
    expect(result.steps.map((s) => [s.step, s.ok])).toEqual([["instance", false]]);
    expect(result.steps[0]?.detail).toContain("held by uid 4242");
    expect(mints).toBe(0);
  });

  test("the CLI exits 0 only when every instance passes, and reports per user", async () => {
    const good = instance("cligood", "0.0.24");
    const bad = instance("clibad", "0.0.25", { websocket: "refuse" });
    const table = join(root, "dispatch.json");
    writeFileSync(table, JSON.stringify({ cligood: { os_user: "cligood", port: good.fake.port } }));
    const cli = (...extra: string[]) =>
      runToEnd([
        process.execPath,
        join(REPO, "src/main.ts"),
        "healthcheck",
        "--dispatch-file",
        table,
        "--mint-command",
        fakeMintCommand(root),
        "--accounts-file",
        accountsFile(root, ["cligood", "clibad"]),
        ...extra,
      ]);
    const pass = await cli();
    expect(pass.code).toBe(0);
    expect(pass.stdout).toStartWith("PASS cligood");
    writeFileSync(
      table,
      JSON.stringify({
        cligood: { os_user: "cligood", port: good.fake.port },
        clibad: { os_user: "clibad", port: bad.fake.port },
      }),
    );
    const failed = await cli("--json");
    expect(failed.code).toBe(1);
    const report = JSON.parse(failed.stdout) as {
      instances: Array<{ user: string; ok: boolean; steps: Array<{ step: string }> }>;
      hosts: unknown[];
    };
    expect(report.hosts).toEqual([]); // no fleet
    expect(report.instances.map((r) => [r.user, r.ok, r.steps.at(-1)?.step])).toEqual([
      ["clibad", false, "websocket"],
      ["cligood", true, "websocket"],
    ]);
    expect((await cli("--user", "cligood")).code).toBe(0);
    expect((await cli("--user", "nobody")).code).toBe(2);
  });
});
