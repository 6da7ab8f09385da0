// Operations of the running dispatcher: a Unix socket listener, reload on a
// file change alone, the access log, metrics, WebSockets closed with 1001 on
// stop, and `t3-dispatch check`.
import { describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { flagName } from "../../src/config/setting-schema";
import { runToEnd } from "../fixtures/child";
import {
  Browser,
  fakeMintCommand,
  REPO,
  SIGNED,
  startPairedStack,
  startStack,
  tempDir,
  until,
} from "../fixtures/stack";

describe("operations", () => {
  test("listens on a Unix socket; in peer mode a peer there may assert an identity (its mode and group guard it)", async () => {
    const dir = tempDir();
    const socket = join(dir, "t3-dispatch.sock");
    const stack = await startStack(
      { alice: "0.0.25" },
      { settings: { listen: `unix:${socket}`, identityProof: "peer", listenMode: "0600" } },
    );
    try {
      expect(stack.url).toBe(`unix:${socket}`);
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      const response = await fetch("http://localhost/", {
        unix: socket,
        headers: { "x-authentik-username": "alice", "sec-fetch-dest": "document" },
        redirect: "manual",
      } as RequestInit);
      expect(response.status).toBe(302);
      expect(stack.mints("alice")).toBe(1);
    } finally {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("one access-log line per request with its request id, and metrics that count", async () => {
    const { stack, browser } = await startPairedStack("alice", "0.0.25");
    try {
      const response = await browser.fetch("/__fake/method", { headers: { "x-request-id": "trace-123" } });
      expect(response.headers.get("x-request-id")).toBe("trace-123");
      await until(() => stack.log.lines.some((l) => l.event === "request" && l.request_id === "trace-123"));
      const line = stack.log.lines.find((l) => l.request_id === "trace-123");
      expect(line).toMatchObject({ level: "info", user: "alice", outcome: "proxied", status: 200 });
      expect(JSON.stringify(stack.log.lines)).not.toContain(browser.cookies.get("t3_session") ?? "?");
      const metrics = await (await fetch(`${stack.metricsUrl}/metrics`)).text();
      expect(metrics).toContain('t3d_requests_total{outcome="proxied"} 1');
      expect(metrics).toContain('t3d_requests_total{outcome="paired"} 1');
      expect(metrics).toContain('t3d_pairings_total{result="ok"} 1');
      expect(metrics).toMatch(/t3d_pairing_duration_seconds_count 1/);
      expect((await fetch(`${stack.metricsUrl}/other`)).status).toBe(404);
    } finally {
      await stack.stop();
    }
  });

  test("stopping closes bridged WebSockets with 1001 (going away)", async () => {
    const { stack, browser } = await startPairedStack("alice", "0.0.25");
    const ws = new WebSocket(`${stack.url.replace("http", "ws")}/ws`, {
      headers: await browser.socketHeaders(),
    });
    await new Promise((resolve) => ws.addEventListener("open", resolve));
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    await stack.stop();
    expect(await closed).toBe(1001);
  });

  test("check lists every problem and exits non-zero; a sound setup passes", async () => {
    const stack = await startStack({ alice: "0.0.25" });
    const main = join(REPO, "src/main.ts");
    const signed = Object.entries(SIGNED).flatMap(([key, value]) => [`--${flagName(key)}`, value]);
    const common = [
      "--dispatch-file",
      stack.tablePath,
      "--secret-file",
      join(stack.stateRoot, "secret"),
      "--accounts-file",
      join(stack.stateRoot, "passwd"),
      "--on-demand",
      "off",
    ];
    const check = (...args: string[]) => runToEnd([process.execPath, main, "check", ...common, ...args]);
    try {
      const good = await check(...signed, "--mint-command", fakeMintCommand(stack.stateRoot));
      expect(good.stdout).toContain("alice → alice@127.0.0.1");
      expect(good.stdout).toContain("ok      identityProof jwt");
      expect(good.stdout).toContain("warning local-part keys (alice) match that name at any domain");
      expect(good.stdout).toContain("no problems found");
      expect(good.code).toBe(0);
      const peer = await check("--identity-proof", "peer");
      expect(peer.stdout).toContain(
        "PROBLEM identityProof peer on a TCP listener: any local account can act as any user",
      );
      await stack.instances.alice?.stop();
      const bad = await check("--mint-command", "/nonexistent/t3-mint", "--identity-proof", "peer");
      expect(bad.code).toBe(1);
      for (const problem of ["not found or not executable", "not answering"]) {
        expect(bad.stdout).toContain(problem);
      }
      expect(bad.stdout).toContain("3 problem(s)"); // with peer proof on TCP
      // With on-demand start a stopped instance is no problem, and the instance command is checked instead.
      const onDemand = await check(
        ...signed,
        "--mint-command",
        fakeMintCommand(stack.stateRoot),
        "--on-demand",
        "on",
        "--instance-command",
        `${process.execPath} ${main} fake-instance-control --root ${stack.stateRoot}`,
      );
      expect(onDemand.stdout).toContain(`ok      instance command ${process.execPath}: found`);
      expect(onDemand.stdout).toContain(": stopped (starts when its person arrives)");
      expect([onDemand.code, onDemand.stdout]).toEqual([0, expect.stringContaining("no problems found")]);
      // Settings that cannot be used are found before anything is tried, all of them, with exit 2.
      const unusable = await check("--trusted-proxies", "10.0.0.0/99", "--mint-timeout", "0");
      expect(unusable.code).toBe(2);
      expect(unusable.stdout).toContain("bad prefix length");
      expect(unusable.stdout).toContain('--mint-timeout (mintTimeout) = "0": expected a duration above zero');
      expect(unusable.stdout).toContain("2 problem(s) in the settings");
    } finally {
      await stack.stop();
    }
  });
});

describe("Secure cookies behind https", () => {
  test("with an https publicUrl every relayed cookie is Secure", async () => {
    const stack = await startStack({ alice: "0.0.33" }, { settings: { publicUrl: "https://t3.example.com" } });
    try {
      const response = await new Browser(stack.url, "alice").fetch("/", { document: true });
      const cookies = response.headers.getSetCookie();
      expect(cookies).toHaveLength(2);
      for (const cookie of cookies) expect(cookie).toMatch(/; Secure$/);
    } finally {
      await stack.stop();
    }
  });
});
