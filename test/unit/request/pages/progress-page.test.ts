// What a person sees while their instance starts: the steps, a page that
// works without JavaScript, and a failure that names its step and request id.
import { describe, expect, test } from "bun:test";
import { Start } from "../../../../src/request/lifecycle/start";
import { progressPage } from "../../../../src/request/pages/progress-page";

const person = { user: "<b>bob</b>", osUser: "bob", port: 4000 };

describe("progressPage", () => {
  test("starting: 200, no-store, the steps as they are, refreshing itself without JavaScript", async () => {
    const start = new Start(person, "r-1");
    start.dequeue();
    start.mark("requested", "done");
    start.mark("listening", "running");
    const response = progressPage(start, "r-2", 30_000);
    expect([response.status, response.headers.get("cache-control"), response.headers.get("x-request-id")]).toEqual([
      200,
      "no-store",
      "r-2",
    ]);
    const html = await response.text();
    expect(html).toContain("<h1>Starting &#60;b&#62;bob&#60;/b&#62;'s workspace</h1>");
    expect(html).toContain('<li id="step-requested" class="done"><span class="state">Done</span> Start requested</li>');
    expect(html).toContain('<li id="step-listening" class="running"><span class="state">In progress</span>');
    expect(html).toContain('<progress id="progress" max="4" value="1"');
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(html).toContain('role="status" aria-live="polite"');
  });

  test("queued: says it waits for a start slot", async () => {
    expect(await progressPage(new Start(person, "r-1"), "r-2", 30_000).text()).toContain(
      "Waiting for a free start slot",
    );
  });

  test("failed: 503 with Retry-After, the failed step, the start's request id, a way to try again", async () => {
    const start = new Start(person, "r-start");
    start.dequeue();
    start.mark("requested", "done");
    start.end("failed");
    const response = progressPage(start, "r-view", 30_000);
    expect([response.status, response.headers.get("retry-after")]).toEqual([503, "30"]);
    const html = await response.text();
    expect(html).toContain('<span id="retry-in" data-seconds="30">in 30 seconds</span>');
    expect(html).toContain("The step “Listening on its port” failed.");
    expect(html).toContain('<span class="state">Not reached</span> Answering');
    expect(html).toContain('<code id="request-id">r-start</code>');
    expect(html).toContain('<a class="button" href="">Try again</a>');
    expect(html).not.toContain("EventSource");
  });

  test("failed a while ago: Retry-After and the page say what is left, not the whole wait again", async () => {
    const start = new Start(person, "r-start");
    start.end("failed");
    start.endedAt = Date.now() - 21_500;
    const response = progressPage(start, "r-view", 30_000);
    expect(response.headers.get("retry-after")).toBe("9");
    expect(await response.text()).toContain("in 9 seconds");
    start.endedAt = Date.now() - 40_000; // over: still at least a second, never zero or negative
    expect(progressPage(start, "r-view", 30_000).headers.get("retry-after")).toBe("1");
  });
});
