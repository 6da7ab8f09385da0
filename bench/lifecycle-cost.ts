// What the lifecycle stage adds to a request in the steady state (its
// instance up, nothing starting): the decision (one map lookup, a path test)
// and the activity mark (one map write, one clock read). Timed in process over
// many requests against the same loop with nothing in it, so machine noise
// that swamps a microsecond in wrk does not hide it.
//   bun bench/lifecycle-cost.ts [--requests N]
import { resolveSettings } from "../src/config/settings";
import { Invalid } from "../src/lib/errors";
import { memoryLogger } from "../src/lib/log";
import { arrive } from "../src/request/arrival";
import { Lifecycle } from "../src/request/lifecycle/lifecycle";
import { Metrics } from "../src/request/metrics";

const requests = Number(process.argv[process.argv.indexOf("--requests") + 1]) || 2_000_000;
const resolved = resolveSettings({});
if (resolved instanceof Invalid) throw new Error(resolved.detail);
const alice = { user: "alice", osUser: "alice", port: 4000 };
const lifecycle = new Lifecycle({
  settings: resolved.settings.lifecycle,
  control: {
    start: async () => undefined,
    stop: async () => undefined,
    status: async () => ({ unit: "u", active: "active", since: null, memory_bytes: null, cpu_usec: 0, journal: [] }),
  },
  instances: { fresh: () => undefined, listening: () => true },
  table: () => [alice],
  hold: () => undefined,
  answers: async () => true,
  stopped() {},
  metrics: new Metrics(),
  log: memoryLogger(),
});
const record = arrive(new Request("https://t3.example/api/projects?x=1", { headers: { accept: "*/*" } }), undefined);

function timed(body: () => unknown): number {
  let sink = 0;
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i++) if (body() !== undefined) sink++;
  const used = process.cpuUsage(started);
  if (sink < 0) console.log(sink);
  return ((used.user + used.system) * 1000) / requests; // ns per request
}

// Warm both up, then take the best of five of each (the least disturbed run).
const stage = () => {
  const verdict = lifecycle.decide(record, alice);
  lifecycle.active(alice);
  return verdict;
};
const empty = () => alice;
for (let i = 0; i < 2; i++) timed(stage) + timed(empty);
const best = (body: () => unknown) => Math.min(...Array.from({ length: 5 }, () => timed(body)));
const added = Math.max(0, best(stage) - best(empty));
console.log(
  `Lifecycle stage, steady state: ${added.toFixed(0)} ns of CPU per request (decision + activity mark, ` +
    `${requests} requests, best of 5; target ≤ 1000 ns: ${added <= 1000 ? "met" : "MISSED"})`,
);
