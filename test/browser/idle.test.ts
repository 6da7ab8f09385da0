// Idle stop as a person sees it, with real parts: Chromium → Caddy → the
// dispatcher, whose instances are fake t3 processes whose page speaks the
// real client's WebSocket protocol (a keepalive and an activity report, here
// at a faster cadence). A tab left open and untouched lets its instance stop;
// a tab someone clicks in keeps it; a tab that comes back after the stop gets
// its workspace again without a reload. Screenshots in .test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { browserFront, newPerson, shot, showsText } from "../fixtures/chromium";
import { type OnDemandStack, startOnDemandStack } from "../fixtures/on-demand-stack";
import { until } from "../fixtures/stack";

const PASSWORDS = { gail: "gail-pw", hugo: "hugo-pw", ines: "ines-pw" };
const IDLE_MS = 3000;
/** The page's client: a keepalive every 300 ms, a report every second (the real one: 5 s, 25 s). */
const CADENCE = "--client-cadence 300:1000";

let front: Awaited<ReturnType<typeof browserFront<OnDemandStack>>>;
let stack: OnDemandStack;

beforeAll(async () => {
  front = await browserFront(PASSWORDS, (settings) =>
    startOnDemandStack(Object.keys(PASSWORDS), { ...settings, idleTimeout: `${IDLE_MS}ms` }),
  );
  stack = front.stack;
  for (const user of Object.keys(PASSWORDS)) stack.fault(user, CADENCE);
}, 60_000);

afterAll(() => front?.stop());

/** The person's workspace open in a tab of its own, its socket connected. */
async function open(user: keyof typeof PASSWORDS): Promise<Page> {
  const { page } = await newPerson(front.chrome, user, PASSWORDS[user]);
  await page.goto(`${front.caddy.url}/`);
  await showsText(page, "owner", `${user}'s workspace`);
  await showsText(page, "ws", "connected");
  return page;
}

const opens = async (page: Page) => Number(await page.locator("#opens").textContent());

describe("idle stop in a real browser through Caddy", () => {
  test("11. a tab left open and untouched: its instance stops although the socket is open and chatty", async () => {
    const page = await open("gail");
    await until(() => stack.count("gail", "stops") === 1, 5 * IDLE_MS);
    // The tab reconnected by itself and is held: still "connected", and its instance stays stopped.
    await page.waitForFunction("Number(document.getElementById('opens').textContent) >= 2", undefined, {
      timeout: 10_000,
    });
    await showsText(page, "ws", "connected");
    await Bun.sleep(2 * IDLE_MS);
    expect([stack.count("gail", "starts"), stack.count("gail", "stops")]).toEqual([1, 1]);
    await shot(page, "11-untouched-tab-instance-stopped");
    await page.context().close();
  }, 40_000);

  test("12. a tab someone clicks in keeps its instance", async () => {
    const page = await open("hugo");
    for (let elapsed = 0; elapsed < 3 * IDLE_MS; elapsed += 700) {
      await page.click("#touch");
      await Bun.sleep(700);
    }
    expect(stack.count("hugo", "stops")).toBe(0);
    expect(await opens(page)).toBe(1); // never disconnected
    await shot(page, "12-clicked-tab-kept");
    await page.context().close();
  }, 40_000);

  test("13. a tab that comes back after an idle stop gets its workspace again, without a reload", async () => {
    const page = await open("ines");
    await page.evaluate("document.body.dataset.loaded = 'once'");
    await until(() => stack.count("ines", "stops") === 1, 5 * IDLE_MS);
    await page.waitForFunction("Number(document.getElementById('opens').textContent) >= 2", undefined, {
      timeout: 10_000,
    });
    await shot(page, "13-returning-tab-while-asleep");
    const held = await opens(page);
    // The person comes back and clicks: the client reports it, the instance starts, the app reconnects.
    await page.click("#touch");
    await page.waitForFunction(`Number(document.getElementById('opens').textContent) > ${held}`, undefined, {
      timeout: 15_000,
    });
    await showsText(page, "ws", "connected");
    expect(stack.count("ines", "starts")).toBe(2);
    // The same page (no reload), and its socket reaches the instance again: the instance echoes.
    expect(await page.evaluate("document.body.dataset.loaded")).toBe("once");
    await page.evaluate("ws.send('back at work')");
    await showsText(page, "echo", "back at work");
    await shot(page, "13-returning-tab-woken");
    await page.context().close();
  }, 60_000);
});
