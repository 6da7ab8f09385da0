// On-demand start as a person sees it, with real parts: Chromium → Caddy
// (forward_auth to the fake outpost) → the dispatcher, whose instance command
// runs each fake instance as a process of its own. A stopped instance shows
// the progress page with its steps, then the workspace with its WebSocket; a
// start that fails shows its failure page; without JavaScript the page
// refreshes itself to the workspace. Screenshots in .test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { browserFront, newPerson, shot, showsText } from "../fixtures/chromium";
import { type OnDemandStack, startOnDemandStack } from "../fixtures/on-demand-stack";

const PASSWORDS = { dora: "dora-pw", erin: "erin-pw", frank: "frank-pw" };

let front: Awaited<ReturnType<typeof browserFront<OnDemandStack>>>;
let stack: OnDemandStack;
let caddy: Front["caddy"];
let chrome: Front["chrome"];
type Front = typeof front;

beforeAll(async () => {
  front = await browserFront(PASSWORDS, (settings) => startOnDemandStack(Object.keys(PASSWORDS), settings));
  ({ stack, caddy, chrome } = front);
}, 60_000);

afterAll(() => front?.stop());

const login = (user: keyof typeof PASSWORDS, javaScriptEnabled = true) =>
  newPerson(chrome, user, PASSWORDS[user], { javaScriptEnabled });

describe("a stopped instance, in a real browser through Caddy", () => {
  test("8. the progress page with its steps as they happen, then the workspace with its WebSocket", async () => {
    stack.fault("dora", "--listen-after 1500"); // a start slow enough to watch
    const { context, page } = await login("dora");
    const first = await page.goto(`${caddy.url}/notes/today?tab=2`);
    expect(first?.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Starting dora's workspace");
    await page.waitForSelector("#step-requested.done");
    await expect(page.locator("#step-listening .state").textContent()).resolves.toBe("In progress");
    await shot(page, "8-progress-page");
    // When the start ends, the page continues to the deep link, which pairs as usual.
    await showsText(page, "owner", "dora's workspace");
    await showsText(page, "ws", "connected");
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe("/notes/today?tab=2");
    expect(stack.count("dora", "starts")).toBe(1);
    await shot(page, "8-workspace-after-start");
    await context.close();
  }, 30_000);

  test("9. a start that fails: the page shows the failed step and the request id, and does not retry", async () => {
    stack.fault("erin", "refuse");
    const { context, page } = await login("erin");
    await page.goto(`${caddy.url}/`);
    await page.waitForFunction(`document.querySelector("h1")?.textContent === "erin's workspace did not start"`);
    await expect(page.locator("[role=alert]").textContent()).resolves.toBe("The step “Start requested” failed.");
    expect(await page.locator("#request-id").textContent()).toMatch(/^[A-Za-z0-9._:-]+$/);
    // The wait counts down on the page itself.
    const left = async () => Number(/in (\d+) second/.exec((await page.locator("#retry-in").textContent()) ?? "")?.[1]);
    const before = await left();
    await page.waitForFunction(`!document.getElementById("retry-in").textContent.includes("in ${before} ")`);
    expect(await left()).toBeLessThan(before);
    await shot(page, "9-start-failed");
    await page.reload();
    await expect(page.locator("h1").textContent()).resolves.toBe("erin's workspace did not start");
    expect(stack.count("erin", "starts")).toBe(0); // the wrapper refused: nothing started, nothing retried
    await context.close();
  }, 30_000);

  test("10. without JavaScript the page refreshes itself until the workspace is there", async () => {
    stack.fault("frank", "--listen-after 500");
    const { context, page } = await login("frank", false);
    await page.goto(`${caddy.url}/`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Starting frank's workspace");
    await shot(page, "10-progress-without-javascript");
    await page.waitForSelector("#owner", { timeout: 15_000 });
    await expect(page.locator("#owner").textContent()).resolves.toBe("frank's workspace");
    await context.close();
  }, 30_000);
});
