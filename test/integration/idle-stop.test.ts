// Idle stop against real processes: an instance nobody uses for idleTimeout
// is stopped through the wrapper (an open WebSocket with only the client's
// keepalives and "nobody here" reports on it is not use), one whose tab sends
// requests or says a person interacted is not, one busy on its own (CPU, no
// browser) is not, and a stopped one starts again on the next visit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ACTIVITY_REPORT, PING, PONG } from "../../src/t3/rpc-frames";
import { type OnDemandStack, progressEvents, startOnDemandStack } from "../fixtures/on-demand-stack";
import { Browser, until } from "../fixtures/stack";

const IDLE_MS = 1500;

/** What the real client sends by itself, at 25 times its cadence: a keepalive, and a report saying whether a person is there. */
function chatter(ws: WebSocket, present: () => boolean): () => void {
  let id = 0;
  const ping = setInterval(() => ws.send(PING), 200);
  const report = setInterval(() => {
    const payload = { clientKind: "web", visible: true, focused: true, recentlyInteracted: present() };
    ws.send(JSON.stringify({ _tag: "Request", id: String(++id), tag: ACTIVITY_REPORT, payload, headers: [] }));
  }, 1000);
  return () => {
    clearInterval(ping);
    clearInterval(report);
  };
}

/** A socket to the dispatcher as `browser`, open (or why not: the close code, or the refusal's status). */
async function socketOf(stack: OnDemandStack, headers: Record<string, string>): Promise<WebSocket | string> {
  const ws = new WebSocket(`${stack.url.replace("http", "ws")}/ws`, { headers });
  return new Promise((resolve) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (event) => resolve(String((event as ErrorEvent).message ?? "error"));
  });
}

/** The next frame the socket receives, or its close code. */
const nextOf = (ws: WebSocket): Promise<string> =>
  new Promise((resolve) => {
    ws.onmessage = (event) => resolve(String(event.data));
    ws.onclose = (event) => resolve(`closed ${event.code}`);
  });

const report = (id: string, recentlyInteracted: boolean) =>
  JSON.stringify({ _tag: "Request", id, tag: ACTIVITY_REPORT, payload: { recentlyInteracted }, headers: [] });

/** A person whose instance was started by their visit and who is paired, with the page's WebSocket open. */
async function arrive(stack: OnDemandStack, user: string): Promise<{ browser: Browser; ws: WebSocket }> {
  const browser = new Browser(stack.url, `${user}@example.com`);
  expect((await browser.fetch("/", { document: true })).status).toBe(200);
  expect((await progressEvents(() => browser.fetch("/_t3d/start/events"))).at(-1)?.outcome).toBe("ready");
  expect((await browser.fetch("/", { document: true })).status).toBe(302);
  const ws = new WebSocket(`${stack.url.replace("http", "ws")}/ws`, { headers: await browser.socketHeaders() });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return { browser, ws };
}

describe("idle stop", () => {
  let stack: OnDemandStack;
  beforeAll(async () => {
    stack = await startOnDemandStack(["gina", "hank", "ivan", "jill", "kate", "liam", "mina"], {
      idleTimeout: `${IDLE_MS}ms`,
    });
  });
  afterAll(() => stack.stop());

  test("a forgotten tab, its socket open and chatty: stopped after idleTimeout, logged, counted; the next visit starts it", async () => {
    const { browser, ws } = await arrive(stack, "gina");
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (event) => resolve(event.code);
    });
    let pongs = 0;
    ws.onmessage = (event) => void (event.data === PONG && pongs++);
    const quiet = chatter(ws, () => false);
    const began = Date.now();
    const stopped = () => stack.log.lines.find((l) => l.event === "instance_idle_stopped");
    await until(() => stopped() !== undefined, 10 * IDLE_MS);
    expect(Date.now() - began).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(stack.count("gina", "stops")).toBe(1);
    await closed;
    quiet();
    expect(pongs).toBeGreaterThan(3); // the keepalives did reach the instance, and were answered
    const line = stopped();
    expect(line).toMatchObject({ user: "gina", os_user: "gina" });
    // Its own stop, named as such: not also an instance "replaced" under it.
    expect(stack.log.lines.filter((l) => l.event === "instance_replaced" && l.user === "gina")).toEqual([]);
    const metrics = await (await fetch(`${stack.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('t3d_instance_stops_total{reason="idle"} 1');

    const again = await browser.fetch("/", { document: true });
    expect([again.status, await again.text()]).toEqual([200, expect.stringContaining("Starting gina's workspace")]);
    expect((await progressEvents(() => browser.fetch("/_t3d/start/events"))).at(-1)?.outcome).toBe("ready");
    expect(stack.count("gina", "starts")).toBe(2);
  });

  test("an agent's output streamed to an open tab nobody reads is not a person: stopped mid-stream", async () => {
    const { ws } = await arrive(stack, "mina");
    let received = 0;
    ws.onmessage = () => void received++;
    ws.send("tick:100:100"); // the instance sends a frame every 100 ms for 10 s; the tab sends nothing more
    await until(() => stack.count("mina", "stops") === 1, 10 * IDLE_MS);
    expect(received).toBeGreaterThan(10); // it was streaming when it stopped
    expect(received).toBeLessThan(100);
  });

  test("a tab exchanging frames is not stopped", async () => {
    const { ws } = await arrive(stack, "hank");
    const echoes: string[] = [];
    ws.onmessage = (event) => void echoes.push(String(event.data));
    for (let i = 0; i < 12; i++) {
      ws.send(`frame ${i}`);
      await Bun.sleep(IDLE_MS / 5);
    }
    expect(echoes.length).toBe(12);
    expect(stack.count("hank", "stops")).toBe(0);
    ws.close();
  });

  test("arriving is use: a new browser's pairing and its socket opening keep an instance idle until then", async () => {
    const { ws } = await arrive(stack, "kate");
    ws.close();
    await Bun.sleep(IDLE_MS * 0.8);
    const browser = new Browser(stack.url, "kate@example.com"); // another browser: it pairs (302)
    expect((await browser.fetch("/", { document: true })).status).toBe(302);
    await Bun.sleep(IDLE_MS * 0.4);
    const socket = new WebSocket(`${stack.url.replace("http", "ws")}/ws`, { headers: await browser.socketHeaders() });
    await new Promise((resolve) => {
      socket.onopen = resolve;
    });
    await Bun.sleep(IDLE_MS * 0.7); // 1.9 idleTimeouts after the last proxied request, 0.7 after the socket opened
    expect(stack.count("kate", "stops")).toBe(0);
    socket.close();
  });

  test("a returning tab: held while its instance sleeps, woken by a person, then back on its own instance", async () => {
    const { browser, ws } = await arrive(stack, "liam");
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (event) => resolve(event.code);
    });
    await until(() => stack.count("liam", "stops") === 1, 10 * IDLE_MS);
    await closed;
    // The client reconnects a second after the close; by then the dispatcher has seen its stop through.
    await until(() => stack.log.lines.some((l) => l.event === "instance_idle_stopped" && l.user === "liam"), 5000);
    // The client reconnects on its own: the dispatcher holds the socket and answers as t3 would.
    const held = await socketOf(stack, await browser.socketHeaders());
    if (typeof held === "string") throw new Error(`not held: ${held}`);
    held.send(PING);
    expect(await nextOf(held)).toBe(PONG);
    held.send(report("1", false));
    expect(JSON.parse(await nextOf(held))).toMatchObject({ _tag: "Exit", requestId: "1" });
    await Bun.sleep(IDLE_MS);
    expect(stack.count("liam", "starts")).toBe(1); // a tab nobody touches wakes nothing
    // Someone without liam's session gets the 503 of a stopped instance, held or started nothing.
    const stranger = await socketOf(stack, { ...(await browser.socketHeaders()), cookie: "" });
    expect(stranger).toBeString();
    // liam touches the tab: the report says so, the instance starts, the held socket is let go with 1012.
    held.send(report("2", true));
    expect(JSON.parse(await nextOf(held))).toMatchObject({ _tag: "Exit", requestId: "2" });
    expect(await nextOf(held)).toBe("closed 1012");
    expect(stack.count("liam", "starts")).toBe(2);
    expect(stack.log.lines.find((l) => l.event === "instance_start_requested" && l.by === "activity")).toMatchObject({
      user: "liam",
    });
    // Its reconnect reaches liam's own instance, through the whole path, on the session it had.
    const back = await socketOf(stack, await browser.socketHeaders());
    if (typeof back === "string") throw new Error(`not reconnected: ${back}`);
    back.send("echo me");
    expect(await nextOf(back)).toBe("echo me");
    back.close();
  });

  test("a tab whose client reports a person who interacts is not stopped", async () => {
    const { ws } = await arrive(stack, "jill");
    const stop = chatter(ws, () => true);
    await Bun.sleep(IDLE_MS * 3);
    stop();
    expect(stack.count("jill", "stops")).toBe(0);
    ws.close();
  });

  test("an instance busy on its own, with no browser, is not stopped", async () => {
    stack.fault("ivan", "--busy");
    const { ws } = await arrive(stack, "ivan");
    ws.close();
    await until(
      () => stack.log.lines.some((l) => l.event === "instance_busy_alone" && l.user === "ivan"),
      10 * IDLE_MS,
    );
    await Bun.sleep(IDLE_MS);
    expect(stack.count("ivan", "stops")).toBe(0);
  });
});
