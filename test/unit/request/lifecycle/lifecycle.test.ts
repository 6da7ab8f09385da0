// The lifecycle stage's decisions: go on, wait (the page, its events), or a
// 503; one start per os_user however many arrive; the reserved path; a failed
// start shown for a while, then a visit may start again.
import { describe, expect, test } from "bun:test";
import { resolveSettings } from "../../../../src/config/settings";
import { DispatchError, Invalid } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { arrive } from "../../../../src/request/arrival";
import { InstanceDown, InstanceImpostor } from "../../../../src/request/instance/check";
import { MAX_HELD_PER_ACCOUNT } from "../../../../src/request/lifecycle/held";
import { Asleep, EVENTS_PATH, FAILED_SHOWN_MS, Lifecycle, Waiting } from "../../../../src/request/lifecycle/lifecycle";
import { Metrics } from "../../../../src/request/metrics";
import type { SocketPeer } from "../../../../src/runtime/runtime";
import { ACTIVITY_REPORT, PING, PONG } from "../../../../src/t3/rpc-frames";
import { until } from "../../../fixtures/stack";

const bob = { user: "bob", osUser: "bob", port: 4000 };
const resolved = resolveSettings({ flags: { startTimeout: "300ms" } });
if (resolved instanceof Invalid) throw new Error(resolved.detail);
const settings = resolved.settings.lifecycle;

/** A held socket as the test sees it: what it was sent, and how it was closed. */
class FakeSocket {
  readonly sent: string[] = [];
  closed: number | undefined;
  send(text: string) {
    this.sent.push(text);
  }
  close(code: number) {
    this.closed = code;
  }
}

function lifecycle(options: { refuse?: boolean } = {}) {
  const started: string[] = [];
  const peers: SocketPeer[] = [];
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
    hold(_server, _request, peer) {
      peers.push(peer);
      return undefined;
    },
    answers: async () => up,
    stopped() {},
    metrics: new Metrics(),
    log: memoryLogger(),
  });
  return { subject, started, peers };
}

/** Holds a socket of bob's and opens it. */
function held(subject: Lifecycle, peers: SocketPeer[]): FakeSocket {
  const socket = new FakeSocket();
  expect(subject.hold(undefined, new Request("https://t3.example/ws"), request("/ws", "upgrade"), bob)).toBeUndefined();
  peers.at(-1)?.opened(socket);
  return socket;
}

const report = (id: string, recentlyInteracted: boolean) =>
  JSON.stringify({ _tag: "Request", id, tag: ACTIVITY_REPORT, payload: { recentlyInteracted }, headers: [] });

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

  test("down: a WebSocket is asleep (to be held), never a start by itself", () => {
    const { subject, started } = lifecycle();
    const verdict = subject.decide(request("/ws", "upgrade"), new InstanceDown(bob));
    expect(verdict).toBeInstanceOf(Asleep);
    expect((verdict as Asleep).refusal("/ws").kind).toBe("instance_stopped");
    expect(started).toEqual([]);
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

describe("held sockets of a sleeping instance", () => {
  test("keepalives and reports of nobody are answered as t3 would, and start nothing", async () => {
    const { subject, peers, started } = lifecycle();
    const socket = held(subject, peers);
    peers[0]?.message(PING);
    peers[0]?.message(report("3", false));
    peers[0]?.message('{"_tag":"Request","id":"4","tag":"subscribeServerConfig","payload":{},"headers":[]}');
    await Bun.sleep(5);
    expect(socket.sent).toEqual([PONG, '{"_tag":"Exit","requestId":"3","exit":{"_tag":"Success","value":null}}']);
    expect([started, socket.closed]).toEqual([[], undefined]);
  });

  test("a report of a person wakes it once; when it answers every held socket closes with 1012", async () => {
    const { subject, peers, started } = lifecycle();
    const [one, two] = [held(subject, peers), held(subject, peers)];
    peers[0]?.message(report("5", true));
    peers[1]?.message(report("6", true)); // the same start
    expect(started).toEqual(["bob"]);
    await until(() => one.closed !== undefined, 2000);
    expect([one.closed, two.closed]).toEqual([1012, 1012]);
  });

  test("a start that fails closes them with 1011, and a report during the failure starts nothing", async () => {
    const { subject, peers, started } = lifecycle({ refuse: true });
    const socket = held(subject, peers);
    peers[0]?.message(report("7", true));
    await until(() => socket.closed !== undefined, 2000);
    expect(socket.closed).toBe(1011);
    const again = held(subject, peers);
    peers[1]?.message(report("8", true));
    expect(started).toEqual(["bob"]); // shown, not retried
    expect(again.closed).toBeUndefined();
  });

  test("at most MAX_HELD_PER_ACCOUNT per account; beyond, the 503 of a stopped instance", () => {
    const { subject, peers } = lifecycle();
    for (let i = 0; i < MAX_HELD_PER_ACCOUNT; i++) held(subject, peers);
    const refused = subject.hold(undefined, new Request("https://t3.example/ws"), request("/ws", "upgrade"), bob);
    expect((refused as DispatchError).kind).toBe("instance_stopped");
  });
});
