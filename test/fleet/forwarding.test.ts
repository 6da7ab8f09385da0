// Two real dispatchers, hosts a and b, on this machine's loopback, with TLS
// and mutual TLS between them (a CA made by the test): a person whose
// instance b owns comes in by a's door. b verifies, mints, pairs and proxies;
// a only proves and forwards. The namespace suite runs the same parts as
// separate hosts with real accounts and a real front.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { flagName } from "../../src/config/setting-schema";
import { startFakeOutpost } from "../../src/demo/fake-outpost";
import { checkAll } from "../../src/ops/check";
import type { HostHealth } from "../../src/ops/fleet-health";
import { runToEnd } from "../fixtures/child";
import { type LoopbackFleet, startLoopbackFleet } from "../fixtures/fleet-stack";
import { Browser, DENO_RUN, floodHeldFor, freePort, OUTPOST, REPO, until } from "../fixtures/stack";

let fleet: LoopbackFleet;
beforeAll(async () => {
  fleet = await startLoopbackFleet({ alice: "a", bob: "b" });
});
afterAll(() => fleet.stop());

const a = () => fleet.host("a");
const b = () => fleet.host("b");

/** bob's browser at a's door, paired (through a, by b). */
async function bobAtA(): Promise<Browser> {
  const browser = new Browser(a().url, "bob@example.com");
  const first = await browser.fetch("/", { document: true });
  expect(first.status).toBe(302);
  return browser;
}

describe("a person on host b, by host a's door", () => {
  test("b mints and pairs (a never does); the page is b's instance; the cookies work at either door", async () => {
    const before = b().mints("bob");
    const browser = await bobAtA();
    expect(b().mints("bob")).toBe(before + 1);
    expect(a().mints("bob")).toBe(0);
    const page = await browser.fetch("/", { document: true });
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining("bob's workspace")]);
    const atB = new Browser(b().url, "bob@example.com");
    for (const [name, value] of browser.cookies) atB.cookies.set(name, value);
    expect((await atB.fetch("/", { document: true })).status).toBe(200);
    expect(b().mints("bob")).toBe(before + 1);
    const metrics = await (await fetch(`${a().started.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/t3d_fleet_forwarded_total\{host="b"\} [1-9]/);
  });

  test("bodies stream both ways: 8 MiB up arrives whole, a chunked answer and an event stream come back", async () => {
    const browser = await bobAtA();
    const body = new Uint8Array(8 * 1024 * 1024).fill(7);
    const up = await browser.fetch("/__fake/upload", { method: "POST", body });
    expect(await up.json()).toEqual({ bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") });
    const chunked = await browser.fetch("/__fake/chunked?n=65536");
    expect((await chunked.arrayBuffer()).byteLength).toBe(3 * 65536);
    const events = await browser.fetch("/__fake/sse?gapMs=50");
    expect(await events.text()).toBe("data: first\n\ndata: second\n\n");
  });

  test("a WebSocket crosses both hops: echo, close code, and backpressure held back at b's instance", async () => {
    const browser = await bobAtA();
    const ws = new WebSocket(`${a().url.replace("http", "ws")}/ws`, { headers: await browser.socketHeaders() });
    ws.binaryType = "arraybuffer";
    const received: ArrayBuffer[] = [];
    const texts: string[] = [];
    ws.addEventListener("message", (e) => (typeof e.data === "string" ? texts.push(e.data) : received.push(e.data)));
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error("WebSocket through the door failed")));
    });
    ws.send("héllo");
    await until(() => texts.length === 1);
    expect(texts).toEqual(["héllo"]);
    ws.pause();
    ws.send("flood:800:65536");
    await until(() => floodHeldFor(b().instances.bob, 300), 20_000);
    expect(b().instances.bob?.stats.floodSent).toBeLessThan(800);
    ws.resume();
    await until(() => received.length === 800, 30_000);
    expect(received.map((r) => new DataView(r).getUint32(0))).toEqual([...Array(800).keys()]);
    const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
    ws.send("close:4001:bye from b");
    const { code, reason } = await closed;
    expect([code, reason]).toEqual([4001, "bye from b"]);
  }, 60_000);
  test("a WebSocket whose session b's instance has dropped: 401 at a's door, as at a local one", async () => {
    const browser = await bobAtA();
    expect((await browser.fetch("/", { document: true })).status).toBe(200);
    b().instances.bob?.wipeSessions();
    const upgrade = await browser.fetch("/ws", {
      headers: {
        ...(await browser.socketHeaders()),
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    expect(upgrade.status).toBe(401);
  });
});

describe("b's fleet listener, reached directly", () => {
  const fleetGet = async (headers: Record<string, string>, tls: Record<string, string>) =>
    fetch(`${b().fleetUrl}/`, {
      headers: { "sec-fetch-dest": "document", ...headers },
      redirect: "manual",
      tls,
      signal: AbortSignal.timeout(5000),
    } as RequestInit).then(
      (response) => response.status,
      (error: Error) => `refused: ${error.name}`,
    );
  const withCert = () => ({ ca: fleet.ca.cert, cert: a().cert.cert, key: a().cert.key });

  test("without a client certificate from the CA: no connection at all", async () => {
    const token = await OUTPOST.sign("bob@example.com");
    const headers = { "x-authentik-username": "bob@example.com", "x-authentik-jwt": token };
    expect(await fleetGet(headers, { ca: fleet.ca.cert })).toMatch(/^refused/);
    expect(await fleetGet(headers, withCert())).toBe(302); // the same request with one: b pairs
  });

  test("a forged, an expired, a replayed-under-another-name token, or none: 403 and nothing minted", async () => {
    const before = b().mints("bob");
    const impostor = await startFakeOutpost();
    const expired = { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } };
    const asBob = (token: string) => ({ "x-authentik-username": "bob@example.com", "x-authentik-jwt": token });
    const cases = [
      asBob(await impostor.sign("bob@example.com", { kid: OUTPOST.kid })), // forged: another key, the front's kid
      asBob(await OUTPOST.sign("bob@example.com", expired)),
      asBob(await OUTPOST.sign("alice@example.com")), // alice's good token, replayed under bob's name
      { "x-authentik-username": "bob@example.com" }, // no token: an identity header alone
    ];
    try {
      for (const headers of cases) expect(await fleetGet(headers, withCert())).toBe(403);
    } finally {
      await impostor.stop();
    }
    expect(b().mints("bob")).toBe(before);
  });
});

describe("the runtime", () => {
  test("under Deno, a dispatcher with the fleet's settings refuses to start, saying why", async () => {
    const flags = { ...a().flags, fleetListen: `127.0.0.1:${await freePort()}` };
    const argv = Object.entries(flags).flatMap(([key, value]) => [`--${flagName(key)}`, value]);
    const run = await runToEnd([...DENO_RUN, join(REPO, "src/main.ts"), "serve", ...argv]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(
      "a fleet (TLS between dispatchers with the operator's CA) needs the Bun build",
    );
  }, 60_000);
});

describe("hosts come and go, people move", () => {
  test("moving bob from b to a: one re-pair on a, and none of b's cookies reach a's instance", async () => {
    const browser = await bobAtA();
    expect((await browser.fetch("/", { document: true })).status).toBe(200);
    const oldCookies = [...browser.cookies.values()];
    await fleet.move("bob", "a");
    const before = a().mints("bob");
    const repair = await browser.fetch("/", { document: true });
    expect(repair.status).toBe(302);
    expect(a().mints("bob")).toBe(before + 1);
    const page = await browser.fetch("/", { document: true });
    expect(page.status).toBe(200);
    const seen = a().instances.bob?.stats.cookieHeaders.join("\n") ?? "";
    for (const value of oldCookies) expect(seen).not.toContain(value);
    expect((await browser.fetch("/", { document: true })).status).toBe(200); // once: no loop
    expect(a().mints("bob")).toBe(before + 1);
    await fleet.move("bob", "b");
  });

  test("host b's dispatcher down: its people get the page at a's door, a's people are unaffected", async () => {
    const bob = await bobAtA();
    const alice = new Browser(a().url, "alice@example.com");
    expect((await alice.fetch("/", { document: true })).status).toBe(302);
    const hostLine = async () => (await checkAll(a().settings)).find((line) => line.what.startsWith("host b "));
    expect(await hostLine()).toEqual({ ok: true, what: expect.stringContaining("its dispatcher answers") });
    const healthcheck = async () => {
      const argv = Object.entries(a().flags).flatMap(([key, value]) => [`--${flagName(key)}`, value]);
      const run = await runToEnd([process.execPath, join(REPO, "src/main.ts"), "healthcheck", "--json", ...argv]);
      const report = JSON.parse(run.stdout) as { instances: Array<{ user: string; ok: boolean }>; hosts: HostHealth[] };
      return {
        code: run.code,
        instances: report.instances.map((i) => [i.user, i.ok]),
        hosts: report.hosts.map((h) => [h.host, h.ok]),
      };
    };
    expect(await healthcheck()).toEqual({ code: 0, instances: [["alice", true]], hosts: [["b", true]] });
    await b().started.stop();
    const down = await bob.fetch("/", { document: true });
    expect(down.status).toBe(502);
    const page = await down.text();
    expect(page).toContain("Your workspace is not answering");
    expect(page).not.toContain("127.0.0.1");
    expect((await alice.fetch("/", { document: true })).status).toBe(200);
    const metrics = await (await fetch(`${a().started.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/t3d_fleet_errors_total\{host="b"\} [1-9]/);
    expect(await hostLine()).toEqual({ ok: false, what: expect.stringContaining("not answering") });
    expect(await healthcheck()).toEqual({ code: 1, instances: [["alice", true]], hosts: [["b", false]] });
  });
});
