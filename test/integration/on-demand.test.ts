// On-demand start against real processes: the dispatcher's instance command
// is the fake wrapper, which runs each fake instance as a process of its own
// on the table's port. A stopped instance starts when its person arrives
// (the progress page, then the deep link pairs), once however many arrive;
// API requests and WebSockets wait with a 503; a start that fails is shown
// and not retried in a loop; ready means answering, not listening.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type OnDemandStack, progressEvents, startOnDemandStack } from "../fixtures/on-demand-stack";
import { Browser, until } from "../fixtures/stack";

const mints = (stack: OnDemandStack, user: string): number => {
  try {
    return readFileSync(join(stack.stateRoot, user, "mint.log"), "utf8")
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0;
  }
};

const eventsOf = (browser: Browser) => progressEvents(() => browser.fetch("/_t3d/start/events"));

describe("a stopped instance starts when its person arrives", () => {
  let stack: OnDemandStack;
  beforeAll(async () => {
    stack = await startOnDemandStack(["alice", "bob", "carol"]);
  });
  afterAll(() => stack.stop());

  test("the progress page (200, no-store, no-JS refresh), its steps to ready, then the deep link pairs", async () => {
    const browser = new Browser(stack.url, "alice@example.com");
    const page = await browser.fetch("/projects/x?tab=2", { document: true });
    expect([page.status, page.headers.get("cache-control")]).toEqual([200, "no-store"]);
    const html = await page.text();
    expect(html).toContain("<h1>Starting alice's workspace</h1>");
    expect(html).toContain("This takes a few seconds."); // nothing is queued: it does not say it waits for a slot
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(html).toContain('new EventSource("/_t3d/start/events")');

    const events = await eventsOf(browser);
    expect(events.at(-1)).toEqual({
      outcome: "ready",
      queued: false,
      steps: {
        requested: "done",
        listening: "done",
        genuine: "done",
        answering: "done",
      },
    });
    const seen = new Set(events.flatMap((e) => Object.entries(e.steps).map(([step, state]) => `${step}:${state}`)));
    expect(seen.has("requested:running")).toBe(true);

    const deepLink = await browser.fetch("/projects/x?tab=2", {
      document: true,
    });
    expect([deepLink.status, deepLink.headers.get("location")]).toEqual([302, "/projects/x?tab=2"]);
    expect(await (await browser.fetch("/", { document: true })).text()).toContain("alice's workspace");
    expect([stack.count("alice", "starts"), mints(stack, "alice")]).toEqual([1, 1]);
  });

  test("50 concurrent first visits: 1 start, then one mint per pairing flight (the first minted during the start)", async () => {
    const browsers = Array.from({ length: 50 }, () => new Browser(stack.url, "bob@example.com"));
    const pages = await Promise.all(browsers.map((b) => b.fetch("/", { document: true })));
    expect(new Set(pages.map((p) => p.status))).toEqual(new Set([200]));
    await eventsOf(browsers[0] as Browser);
    const pairs = await Promise.all(browsers.map((b) => b.fetch("/", { document: true })));
    expect(new Set(pairs.map((p) => p.status))).toEqual(new Set([302]));
    // Concurrent pairings share a flight; minted ahead, a flight is only an exchange, so a late batch may pair anew.
    const flights = () => stack.log.lines.filter((l) => l.event === "paired" && l.user === "bob").length;
    await until(() => flights() > 0, 5000);
    await Bun.sleep(100);
    expect([stack.count("bob", "starts"), mints(stack, "bob")]).toEqual([1, flights()]);
    expect(flights()).toBeLessThanOrEqual(3);
    const metrics = await (await fetch(`${stack.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('t3d_instance_starts_total{result="ready"} 2');
  });

  test("API requests and WebSockets while it starts get 503 with Retry-After, never a 302 or a page", async () => {
    stack.fault("carol", "--listen-after 800");
    const browser = new Browser(stack.url, "carol@example.com");
    const stopped = await browser.fetch("/api/projects");
    expect([
      stopped.status,
      stopped.headers.get("retry-after"),
      ((await stopped.json()) as { error: string }).error,
    ]).toEqual([503, "10", "instance_stopped"]);
    expect(stack.count("carol", "starts")).toBe(0); // only a navigation starts an instance
    expect((await browser.fetch("/", { document: true })).status).toBe(200);
    const api = await browser.fetch("/api/projects");
    const upgrade = await browser.fetch("/ws", {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    for (const response of [api, upgrade]) {
      expect([response.status, response.headers.get("retry-after")]).toEqual([503, "2"]);
      expect(response.headers.get("content-type")).toContain("application/json");
    }
    expect((await eventsOf(browser)).at(-1)?.outcome).toBe("ready");
  });
});

describe("a start that goes wrong", () => {
  let stack: OnDemandStack;
  beforeAll(async () => {
    stack = await startOnDemandStack(["dave", "erin", "frank", "gus"], {
      startTimeout: "1500ms",
    });
  });
  afterAll(() => stack.stop());

  test("one that never listens: the failure page names the step and the request id; no retry loop", async () => {
    stack.fault("dave", "--listen-after 999999999");
    const browser = new Browser(stack.url, "dave@example.com");
    const first = await browser.fetch("/", { document: true });
    expect(first.status).toBe(200);
    const events = await eventsOf(browser);
    expect(events.at(-1)?.outcome).toBe("failed");
    expect(events.at(-1)?.steps.listening).toBe("failed");
    let before = 31;
    for (let i = 0; i < 5; i++) {
      const again = await browser.fetch("/", { document: true });
      const retryAfter = Number(again.headers.get("retry-after"));
      expect(again.status).toBe(503);
      expect(retryAfter).toBeLessThanOrEqual(before); // it counts down
      before = retryAfter;
      if (i > 0) await Bun.sleep(300);
      const html = await again.text();
      expect(html).toContain(`in ${retryAfter} seconds`);
      expect(html).toContain("dave's workspace did not start");
      expect(html).toContain("The step “Listening on its port” failed.");
      const id = /<code id="request-id">([^<]+)<\/code>/.exec(html)?.[1];
      expect(id).toBe(first.headers.get("x-request-id") ?? "?");
    }
    expect((await browser.fetch("/api/x")).status).toBe(503);
    await until(() => stack.log.lines.some((l) => l.event === "instance_start_failed"), 5000);
    expect([stack.count("dave", "starts"), stack.count("dave", "stops")]).toEqual([1, 1]);
    const failed = stack.log.lines.find((l) => l.event === "instance_start_failed");
    expect(failed).toMatchObject({
      user: "dave",
      step: "listening",
      request_id: first.headers.get("x-request-id"),
    });
    expect(String(failed?.journal)).toBeString();
  });

  test("a start that never answers: its journal is in the log without t3's pairing token or QR code", async () => {
    stack.fault("gus", "--answer-after 60000");
    const browser = new Browser(stack.url, "gus@example.com");
    await browser.fetch("/", { document: true });
    expect((await eventsOf(browser)).at(-1)?.steps.answering).toBe("failed");
    const failedLine = () => stack.log.lines.find((l) => l.event === "instance_start_failed" && l.user === "gus");
    await until(() => failedLine() !== undefined, 5000);
    const journal = String(failedLine()?.journal);
    expect(journal).toContain('"event":"listening"'); // the instance's own lines are there…
    const printed = readFileSync(join(stack.stateRoot, "instances", "gus.log"), "utf8");
    const token = /Token: (\S+)/.exec(printed)?.[1] ?? "no token printed";
    expect(printed).toContain("█▀▀▀▀▀█");
    expect(journal).not.toContain(token); // …but not its one-time credential
    expect(journal).not.toContain("█");
    expect(JSON.stringify(stack.log.lines)).not.toContain(token);
  });

  test("one the wrapper refuses: failed at 'Start requested', with the wrapper's output in the log", async () => {
    stack.fault("erin", "refuse");
    const browser = new Browser(stack.url, "erin@example.com");
    await browser.fetch("/", { document: true });
    expect((await eventsOf(browser)).at(-1)?.steps.requested).toBe("failed");
    const failedLine = () => stack.log.lines.find((l) => l.event === "instance_start_failed" && l.user === "erin");
    await until(() => failedLine() !== undefined, 5000); // logged once the journal is in
    const failed = failedLine();
    expect(String(failed?.output)).toContain("Job for fake-t3-serve@erin failed");
    expect(stack.count("erin", "stops")).toBe(0); // nothing started, nothing to stop
  });

  test("one that listens before it answers: the person waits on the page, not on a timeout", async () => {
    stack.fault("frank", "--answer-after 1000");
    const browser = new Browser(stack.url, "frank@example.com");
    await browser.fetch("/", { document: true });
    const events = await eventsOf(browser);
    const answering = events.filter((e) => e.steps.genuine === "done" && e.steps.answering === "running");
    expect(answering.length).toBeGreaterThan(0);
    expect(events.at(-1)?.outcome).toBe("ready");
    const started = performance.now();
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("the first visit to a stopped instance, with a mint as slow as t3's CLI (1.5 s)", () => {
  let stack: OnDemandStack;
  beforeAll(async () => {
    stack = await startOnDemandStack(["lena", "mona"], { startTimeout: "4s" }, 1500);
  });
  afterAll(() => stack.stop());

  const mintedAt = (user: string): number[] =>
    readFileSync(join(stack.stateRoot, user, "mint.log"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => Date.parse(line.split(" ")[0] ?? ""));

  test("the credential is minted during the start: the pairing after it uses it, one mint in all", async () => {
    stack.fault("lena", "--listen-after 2000"); // longer than the mint: it is done before the instance answers
    const browser = new Browser(stack.url, "lena@example.com");
    expect((await browser.fetch("/", { document: true })).status).toBe(200);
    expect((await eventsOf(browser)).at(-1)?.outcome).toBe("ready");
    const ready = Date.now();
    expect(mintedAt("lena").every((at) => at < ready)).toBe(true); // minted while it started
    const pairing = await browser.fetch("/", { document: true });
    expect(pairing.status).toBe(302);
    expect(await (await browser.fetch("/", { document: true })).text()).toContain("lena's workspace");
    expect(mintedAt("lena").length).toBe(1);
    const paired = () => stack.log.lines.find((l) => l.event === "paired" && l.user === "lena");
    await until(() => paired() !== undefined, 5000); // a child's log line arrives a little after its answer
    expect(paired()?.ms).toBeLessThan(1500);
  });

  test("a start that fails: the credential minted for it is never sent anywhere nor logged, and left to expire", async () => {
    stack.fault("mona", "--answer-after 60000"); // listens, is judged, never answers: fails at the last step
    const browser = new Browser(stack.url, "mona@example.com");
    await browser.fetch("/", { document: true });
    expect((await eventsOf(browser)).at(-1)?.outcome).toBe("failed");
    await until(() => existsSync(join(stack.stateRoot, "mona", "mint.log")), 5000); // the early mint ran…
    await Bun.sleep(200);
    const [early] = readdirSync(join(stack.stateRoot, "mona", "credentials"));
    expect(early).toBeString();
    expect(existsSync(join(stack.stateRoot, "mona", "credentials", early ?? "?"))).toBe(true); // …never exchanged
    expect(JSON.stringify(stack.log.lines)).not.toContain(early ?? "no credential"); // …never logged
    for (let i = 0; i < 3; i++) expect((await browser.fetch("/", { document: true })).status).toBe(503);
    expect(mintedAt("mona").length).toBe(1); // the failure page pairs nothing
  }, 20_000);
});

describe("maxConcurrentStarts", () => {
  let stack: OnDemandStack;
  beforeAll(async () => {
    stack = await startOnDemandStack(["gus", "hal"], { maxConcurrentStarts: "1" });
  });
  afterAll(() => stack.stop());

  test("one start at a time across the host: the second person waits on the same page, told why", async () => {
    for (const user of ["gus", "hal"]) stack.fault(user, "--listen-after 600");
    const gus = new Browser(stack.url, "gus@example.com");
    const hal = new Browser(stack.url, "hal@example.com");
    expect((await gus.fetch("/", { document: true })).status).toBe(200);
    const waiting = await hal.fetch("/", { document: true });
    expect([waiting.status, await waiting.text()]).toEqual([
      200,
      expect.stringContaining("Waiting for a free start slot"),
    ]);
    const [gusEvents, halEvents] = await Promise.all([eventsOf(gus), eventsOf(hal)]);
    expect(halEvents[0]?.queued).toBe(true);
    expect([gusEvents.at(-1)?.outcome, halEvents.at(-1)?.outcome]).toEqual(["ready", "ready"]);
    const started = () => stack.log.lines.filter((l) => l.event === "instance_started").map((l) => l.user);
    await until(() => started().length === 2, 5000); // a Deno dispatcher's log comes through a pipe
    expect(started()).toEqual(["gus", "hal"]); // one after the other
  });
});
