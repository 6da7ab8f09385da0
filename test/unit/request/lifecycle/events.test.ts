// The progress page's event stream: the state now, every change, and the end.
import { describe, expect, test } from "bun:test";
import { eventStream } from "../../../../src/request/lifecycle/events";
import { Start } from "../../../../src/request/lifecycle/start";

const bob = { user: "bob", osUser: "bob", port: 4000 };
const outcomes = (text: string) =>
  text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice(6)) as { outcome: string; steps: Record<string, string> });

describe("eventStream", () => {
  test("a start: its state now, each change, then the stream ends with it", async () => {
    const start = new Start(bob, "r-1");
    const response = eventStream(start, "r-2");
    expect([response.headers.get("content-type"), response.headers.get("cache-control")]).toEqual([
      "text/event-stream; charset=utf-8",
      "no-store",
    ]);
    start.dequeue();
    start.mark("requested", "running");
    start.end("failed");
    const events = outcomes(await response.text());
    expect(events.map((e) => e.outcome)).toEqual(["starting", "starting", "starting", "failed"]);
    expect(events.at(-1)?.steps.requested).toBe("failed");
  });

  test("nothing starting: one ready event, and the stream ends", async () => {
    expect(outcomes(await eventStream(undefined, "r-3").text()).map((e) => e.outcome)).toEqual(["ready"]);
  });

  test("a browser that leaves stops the watching", async () => {
    const start = new Start(bob, "r-4");
    const reader = eventStream(start, "r-5").body?.getReader();
    await reader?.read();
    await reader?.cancel();
    start.dequeue(); // no one to tell: no throw on a closed stream
    expect(start.outcome).toBe("starting");
  });
});
