// The fleet with real parts (root only): hosts a and b as network namespaces,
// each running the compiled dispatcher and fake instances as real accounts;
// mutual TLS between the dispatchers with a CA the test makes; Caddy as the
// front, balancing over both doors, with the fake Authentik outpost signing
// each person's token; Chromium for what bob sees. bob's instance is on b,
// alice's on a; whichever door Caddy picks, each reaches their own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { attackTable } from "../fixtures/attacker";
import { runToEnd } from "../fixtures/child";
import { browserFront, newPerson, shot, showsText } from "../fixtures/chromium";
import { ensureAccounts, type NamespaceFleet, startNamespaceFleet } from "../fixtures/namespace-fleet";
import { Browser, until } from "../fixtures/stack";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("SKIPPED test/fleet/hosts.test.ts: needs root for namespaces and accounts (CI runs as root)");

const PASSWORDS = { alice: "alice-pw", bob: "bob-pw", carol: "carol-pw" };
const ALICE = "t3fl-alice";
const BOB = "t3fl-bob";
const CAROL = "t3fl-carol";
const MALLORY = "t3fl-mallory";
const basic = (user: keyof typeof PASSWORDS) => `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString("base64")}`;

describe.skipIf(!isRoot)("a fleet of two hosts behind one front", () => {
  let front: Awaited<ReturnType<typeof browserFront<NamespaceFleet>>>;
  let fleet: NamespaceFleet;
  const record = attackTable("fleet attacks from a local account on host b", "what it got");

  beforeAll(async () => {
    front = await browserFront(PASSWORDS, (settings) =>
      startNamespaceFleet(
        {
          alice: { osUser: ALICE, host: "a", port: 3773 },
          bob: { osUser: BOB, host: "b", port: 3774 },
          carol: { osUser: CAROL, host: "b", port: 3775 },
        },
        settings,
      ),
    );
    fleet = front.stack;
    await ensureAccounts([MALLORY]);
  }, 90_000);
  afterAll(() => front?.stop());

  /** A person's browser at the front: Basic credentials for the outpost, a cookie jar. */
  const person = (user: keyof typeof PASSWORDS) => {
    const browser = new Browser(front.caddy.url, undefined);
    const go = (path: string, init: RequestInit & { document?: boolean } = {}) =>
      browser.fetch(path, { ...init, headers: { ...init.headers, authorization: basic(user) } });
    return { browser, go };
  };
  const metricOf = async (host: string, pattern: RegExp) => {
    const text = await (await fetch(fleet.host(host).metricsUrl)).text();
    return Number(pattern.exec(text)?.[1] ?? 0);
  };

  test("bob, balanced over both doors: b mints once and a never; both doors carried his requests", async () => {
    const bob = person("bob");
    expect((await bob.go("/", { document: true })).status).toBe(302);
    for (let i = 0; i < 6; i++) {
      const page = await bob.go("/", { document: true });
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining("bob's workspace")]);
    }
    expect([fleet.host("b").mints(BOB), fleet.host("a").mints(BOB)]).toEqual([1, 0]);
    expect(await metricOf("a", /t3d_fleet_forwarded_total\{host="b"\} (\d+)/)).toBeGreaterThan(0);
    expect(await metricOf("b", /t3d_requests_total\{outcome="proxied"\} (\d+)/)).toBeGreaterThan(0);
  });

  test("a WebSocket through the front and both hops: echo, backpressure to b's instance, order, the close code", async () => {
    const bob = person("bob");
    await bob.go("/", { document: true });
    const headers = { authorization: basic("bob"), cookie: bob.browser.cookieHeader, origin: front.caddy.url };
    const ws = new WebSocket(`${front.caddy.url.replace("http", "ws")}/ws`, { headers });
    ws.binaryType = "arraybuffer";
    const frames: Array<string | ArrayBuffer> = [];
    ws.addEventListener("message", (event) => frames.push(event.data as string | ArrayBuffer));
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error("the WebSocket did not open")));
    });
    ws.send("across hosts");
    await until(() => frames.length === 1);
    // The browser stops reading: b's instance must be held back, not drained into the doors' memory.
    ws.pause();
    ws.send("flood:800:65536");
    const deadline = Date.now() + 20_000;
    let seen = await fleet.host("b").seen(BOB);
    while (seen.floodHeldSince === undefined || Date.now() - seen.floodHeldSince < 300) {
      if (Date.now() > deadline) throw new Error(`b's instance was never held back (sent ${seen.floodSent})`);
      await Bun.sleep(100);
      seen = await fleet.host("b").seen(BOB);
    }
    expect(seen.floodSent).toBeLessThan(800);
    ws.resume();
    await until(() => frames.length === 801, 30_000);
    expect(frames[0]).toBe("across hosts");
    expect(frames.slice(1).map((f) => new DataView(f as ArrayBuffer).getUint32(0))).toEqual([...Array(800).keys()]);
    const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
    ws.send("close:4003:from b's instance");
    expect((await closed).code).toBe(4003);
  }, 60_000);

  test("a local account on host b: no connection to a's fleet listener, and no identity at b's door", async () => {
    const a = fleet.host("a");
    const asMallory = (argv: string[]) =>
      runToEnd(fleet.net.exec("b", ["setpriv", `--reuid=${MALLORY}`, `--regid=${MALLORY}`, "--init-groups", ...argv]));
    const curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"];
    const nav = ["-H", "Sec-Fetch-Dest: document", "-H", "X-authentik-username: bob@example.com"];
    const before = fleet.host("b").mints(BOB) + a.mints(BOB);
    const attempts = [
      ["a's fleet listener with the CA, no client certificate", [...curl, "--cacert", fleet.ca.certFile]],
      ["a's fleet listener, not verifying it, no client certificate", [...curl, "-k"]],
    ] as const;
    for (const [name, argv] of attempts) {
      const codes = await Promise.all([1, 2, 3].map(() => asMallory([...argv, ...nav, `https://${a.address}:3790/`])));
      const got = codes.filter((c) => c.stdout !== "000");
      record(name, 3, got.length, codes.map((c) => c.stdout).join(","));
      expect(got).toEqual([]);
    }
    const forged = await asMallory([...curl, ...nav, `${fleet.host("b").url}/`]);
    record("bob's name at b's door, no token", 1, forged.stdout === "403" ? 0 : 1, forged.stdout);
    expect(forged.stdout).toBe("403");
    expect(fleet.host("b").mints(BOB) + a.mints(BOB)).toBe(before);
  });

  test("Chromium: bob's workspace from b, its WebSocket connected, whichever door", async () => {
    const { context, page } = await newPerson(front.chrome, "bob", PASSWORDS.bob);
    await page.goto(`${front.caddy.url}/`);
    await expect(page.locator("#owner").textContent()).resolves.toBe("bob's workspace");
    await showsText(page, "ws", "connected");
    await showsText(page, "echo", "hello from the browser");
    await page.reload(); // the other door, by round robin
    await showsText(page, "ws", "connected");
    await shot(page, "fleet-1-bob-on-b-through-any-door");
    await context.close();
  }, 30_000);

  test("moving bob from b to a: one re-pair on a, none of b's cookies reach a's instance", async () => {
    const bob = person("bob");
    await bob.go("/", { document: true });
    expect((await bob.go("/", { document: true })).status).toBe(200);
    const old = [...bob.browser.cookies.values()];
    const before = fleet.host("a").mints(BOB);
    const reloads = () =>
      Promise.all(["a", "b"].map((h) => metricOf(h, /t3d_table_reloads_total\{result="ok"\} (\d+)/)));
    const reloadsBefore = await reloads();
    await fleet.move("bob", "a");
    for (const [i, host] of ["a", "b"].entries()) {
      const deadline = Date.now() + 10_000;
      while ((await metricOf(host, /t3d_table_reloads_total\{result="ok"\} (\d+)/)) <= (reloadsBefore[i] ?? 0)) {
        if (Date.now() > deadline) throw new Error(`host ${host} did not reload its table`);
        await Bun.sleep(50);
      }
    }
    expect((await bob.go("/", { document: true })).status).toBe(302);
    for (let i = 0; i < 4; i++) expect((await bob.go("/", { document: true })).status).toBe(200);
    expect(fleet.host("a").mints(BOB)).toBe(before + 1);
    const seen = (await fleet.host("a").seen(BOB)).cookieHeaders.join("\n");
    for (const value of old) expect(seen).not.toContain(value);
  });

  test("host a down: its people get the page at b's door, and carol, on b, is unaffected", async () => {
    const alice = person("alice");
    const carol = person("carol");
    expect((await carol.go("/", { document: true })).status).toBe(302);
    await fleet.host("a").stopDispatcher();
    const down = await alice.go("/", { document: true });
    expect(down.status).toBe(502);
    const page = await down.text();
    expect(page).toContain("Your workspace is not answering");
    expect(page).not.toContain("198.18.");
    const { context, page: shown } = await newPerson(front.chrome, "alice", PASSWORDS.alice);
    await shown.goto(`${front.caddy.url}/`);
    await expect(shown.locator("h1").textContent()).resolves.toBe("Your workspace is not answering");
    await shot(shown, "fleet-2-host-down");
    await context.close();
    expect(await metricOf("b", /t3d_fleet_errors_total\{host="a"\} (\d+)/)).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) {
      const page = await carol.go("/", { document: true });
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining("carol's workspace")]);
    }
  }, 30_000);
});
