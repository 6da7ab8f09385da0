// What an idle instance costs in CPU, to choose idleCpu (the share of one CPU
// above which an instance with no browser is busy on its own, not idle): a
// fake t3 serve that polls like a real one (`fake-instance --poll`), idle, and
// one that is busy (`--busy`: an agent or a build, half a CPU), each sampled
// from /proc over the same window.
//   bun bench/idle-cpu.ts [--seconds N]   (default 30; the timed bench runs it too)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuMicros } from "./proc";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 30;
const main = join(resolve(import.meta.dir, ".."), "src/main.ts");
const work = mkdtempSync(join(tmpdir(), "t3d-idle-"));
const cpuSeconds = (pid: number) => cpuMicros(pid) / 1e6;

const kinds = { idle: ["--poll"], busy: ["--poll", "--busy"] } as const;
const children = Object.entries(kinds).map(([kind, flags]) =>
  Bun.spawn([process.execPath, main, "fake-instance", "--state-dir", join(work, kind), ...flags], {
    stdout: "ignore",
    stderr: "ignore",
  }),
);
try {
  await Bun.sleep(2000); // past the start
  const before = children.map((child) => cpuSeconds(child.pid));
  const began = performance.now();
  await Bun.sleep(seconds * 1000);
  const elapsed = (performance.now() - began) / 1000;
  const shares = children.map((child, i) => (cpuSeconds(child.pid) - (before[i] ?? 0)) / elapsed);
  const [idle = 0, busy = 0] = shares.map((share) => Math.round(share * 10_000) / 100);
  console.log(
    `Idle CPU over ${seconds} s: a fake t3 serve polling like an idle one uses ${idle} % of one CPU; ` +
      `one busy on its own (an agent or a build) ${busy} %. idleCpu (default 2 %) lies between them.`,
  );
} finally {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
