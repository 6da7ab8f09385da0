// The lifecycle stage's decisions: go on, wait (the page, its events), or a
// 503; one start per os_user however many arrive; the reserved path; a failed
// start shown for a while, then a visit may start again.
import { describe, expect, test } from "bun:test";
import { resolveSettings } from "../../../../src/config/settings";
import { DispatchError, Invalid } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { arrive } from "../../../../src/request/arrival";
import { InstanceDown, InstanceImpostor } from "../../../../src/request/instance/check";
import { EVENTS_PATH, FAILED_SHOWN_MS, Lifecycle, Waiting } from "../../../../src/request/lifecycle/lifecycle";
import { Metrics } from "../../../../src/request/metrics";

const bob = { user: "bob", osUser: "bob", port: 4000 };
const resolved = resolveSettings({ flags: { startTimeout: "300ms" } });
if (resolved instanceof Invalid) throw new Error(resolved.detail);
const settings = resolved.settings.lifecycle;

function lifecycle(options: { refuse?: boolean } = {}) {
  const started: string[] = [];
  let up = false;
  const subject = new Lifecycle({
    settings,
    control: {
      async start(osUser) {
        started.push(osUser);
        up = !options.refuse;
        return undefined;
      },
      stop: async () => undefined,
      status: async () => ({ unit: "u", active: "active", since: null, memory_bytes: null, cpu_usec: 0, journal: [] }),
    },
    instances: {
      fresh: (instance) => (up ? undefined : new InstanceDown(instance)),
      listening: () => up,
    },
    table: () => [bob],
    answers: async () => up,
    stopped() {},
    metrics: new Metrics(),
    log: memoryLogger(),
  });
  return { subject, started };
}

const request = (path: string, kind: "document" | "api" | "upgrade") =>
  arrive(
    new Request(`https://t3.example${path}`, {
      headers:
        kind === "document"
          ? { "sec-fetch-dest": "document" }
          : kind === "upgrade"
            ? { upgrade: "websocket", connection: "Upgrade" }
            : { accept: "application/json" },
    }),
    undefined,
  );

describe("Lifecycle.decide", () => {
  test("an instance that is up and not starting: the request goes on, untouched", () => {
    const { subject } = lifecycle();
    expect(subject.decide(request("/x", "document"), bob)).toBe(bob);
    const refused = new DispatchError("cross_origin", "x");
    expect(subject.decide(request("/x", "api"), refused)).toBe(refused);
  });

  test("down: navigations wait on one start; API requests and upgrades get 503s", async () => {
    const { subject, started } = lifecycle();
    const down = new InstanceDown(bob);
    const api = subject.decide(request("/api/x", "api"), down);
    expect((api as DispatchError).kind).toBe("instance_stopped"); // only a navigation starts it
    const pages = Array.from({ length: 20 }, () => subject.decide(request("/deep?x=1", "document"), down));
    expect(pages.every((p) => p instanceof Waiting && p.answer === "page")).toBe(true);
    expect(new Set(pages.map((p) => (p as Waiting).start)).size).toBe(1);
    expect((subject.decide(request("/api/x", "api"), down) as DispatchError).kind).toBe("instance_starting");
    expect((subject.decide(request("/ws", "upgrade"), bob) as DispatchError).kind).toBe("instance_starting");
    const events = subject.decide(request(EVENTS_PATH, "api"), down);
    expect(events instanceof Waiting && events.answer).toBe("events");
    const start = (pages[0] as Waiting).start;
    await new Promise<void>((resolve) => start?.watch((s) => s.outcome === "ready" && resolve()));
    await Bun.sleep(1);
    expect([started, subject.decide(request("/deep", "document"), bob)]).toEqual([["bob"], bob]);
  });

  test("the reserved path: its event stream (ready at once when nothing starts), nothing else there", () => {
    const { subject } = lifecycle();
    const events = subject.decide(request(EVENTS_PATH, "api"), bob);
    expect(events instanceof Waiting && [events.answer, events.start]).toEqual(["events", undefined]);
    expect((subject.decide(request("/_t3d/other", "document"), bob) as DispatchError).kind).toBe("not_found");
  });

  test("a failed start is shown to every visit for a while, then the next visit starts again", async () => {
    const { subject, started } = lifecycle({ refuse: true });
    const down = new InstanceDown(bob);
    const first = subject.decide(request("/", "document"), down) as Waiting;
    await new Promise<void>((resolve) => first.start?.watch((s) => s.outcome === "failed" && resolve()));
    const again = subject.decide(request("/", "document"), down) as Waiting;
    expect([again.start, again.start?.outcome]).toEqual([first.start, "failed"]);
    expect((subject.decide(request("/api", "api"), down) as DispatchError).kind).toBe("start_failed");
    expect(started).toEqual(["bob"]); // not retried
    if (first.start) first.start.endedAt = Date.now() - FAILED_SHOWN_MS; // time passes
    const later = subject.decide(request("/", "document"), down) as Waiting;
    await Bun.sleep(5); // its wrapper call is asynchronous
    expect([later.start === first.start, started]).toEqual([false, ["bob", "bob"]]);
  });

  test("an instance replaced by someone else waits until it answers; a start under way is not replaced", async () => {
    const { subject } = lifecycle();
    subject.replaced(bob);
    const waiting = subject.decide(request("/", "document"), bob) as Waiting;
    expect(waiting.start?.steps).toMatchObject({ requested: "done", genuine: "done", answering: "running" });
    subject.replaced(bob);
    expect((subject.decide(request("/", "document"), bob) as Waiting).start).toBe(waiting.start);
  });

  test("another account's listener: refused as ever, but a person watching a start sees that start", () => {
    const { subject } = lifecycle({ refuse: true });
    const squatted = new InstanceImpostor(bob, 1002, 1001);
    expect(subject.decide(request("/", "document"), squatted)).toBe(squatted);
    const waiting = subject.decide(request("/", "document"), new InstanceDown(bob)) as Waiting;
    expect((subject.decide(request("/", "document"), squatted) as Waiting).start).toBe(waiting.start);
  });
});
