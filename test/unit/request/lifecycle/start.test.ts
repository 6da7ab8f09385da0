// One start as a person watches it: steps, watchers told of every change
// until it ends, and a failure placed on the step that was running.
import { describe, expect, test } from "bun:test";
import { Start } from "../../../../src/request/lifecycle/start";

const instance = { user: "bob", osUser: "bob", port: 4000 };

describe("Start", () => {
  test("watchers see each change; a failure lands on the running step; nothing is told after the end", () => {
    const start = new Start(instance, "r-1");
    const seen: string[] = [];
    start.watch((s) => seen.push(`${s.outcome} ${s.queued ? "queued" : "slot"} ${s.current}`));
    start.dequeue();
    start.mark("requested", "done");
    start.mark("listening", "running");
    start.end("failed");
    expect(seen).toEqual([
      "starting slot requested",
      "starting slot listening",
      "starting slot listening",
      "failed slot listening",
    ]);
    expect([start.failedStep, start.steps.genuine, typeof start.endedAt]).toEqual(["listening", "pending", "number"]);
    start.mark("genuine", "done");
    expect(seen.length).toBe(4);
  });

  test("a watcher can stop watching", () => {
    const start = new Start(instance, "r-2");
    let calls = 0;
    const unwatch = start.watch(() => calls++);
    start.dequeue();
    unwatch();
    start.end("ready");
    expect([calls, start.outcome, start.failedStep]).toEqual([1, "ready", undefined]);
  });
});
