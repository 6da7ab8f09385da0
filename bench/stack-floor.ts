// The memory floor of the fixed stack: the idle RSS of compiled executables
// that do less and less of what the dispatcher does, built and measured the
// same way as dist/t3-dispatch (bun build --compile --minify, RSS 1.5 s after
// start), beside the dispatcher's own idle RSS in the bench's report.
//   bun bench/stack-floor.ts     (the bench runs it too; prints one line)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { memoryKiB } from "./proc";

const repo = resolve(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "t3d-floor-"));
const from = (name: string) => JSON.stringify(Bun.resolveSync(name, repo));
const serve = `Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });`;
const elysia = `import { Elysia } from ${from("elysia")};\nnew Elysia().get("/", () => "ok").listen({ hostname: "127.0.0.1", port: 0 });`;
// What the dispatcher imports besides Elysia: the Node built-ins it uses, and jose.
const imports = `import * as fs from "node:fs"; import * as crypto from "node:crypto"; import * as util from "node:util"; import * as net from "node:net"; import * as jose from ${from("jose")};\nglobalThis.kept = [fs, crypto, util, net, jose];`;
const variants: Array<[string, string]> = [
  ["Bun.serve alone", serve],
  ["+ Elysia, one route", elysia],
  ["+ node:fs, crypto, util, net and jose", `${imports}\n${elysia}`],
];

async function idleRssMiB(argv: string[]): Promise<number> {
  const child = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore" });
  try {
    await Bun.sleep(1500);
    return memoryKiB(child.pid, "VmRSS") / 1024;
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
}

try {
  const parts: string[] = [];
  for (const [name, source] of variants) {
    const entry = join(work, "entry.ts");
    const binary = join(work, "entry");
    writeFileSync(entry, source);
    const built = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", entry, "--outfile", binary], {
      stderr: "pipe",
    });
    if (built.exitCode !== 0) throw new Error(`${name}: ${built.stderr.toString()}`);
    parts.push(`${name} ${(await idleRssMiB([binary])).toFixed(1)}`);
    rmSync(binary); // one ~100 MiB executable on disk at a time
  }
  console.log(`Idle RSS of compiled executables, the stack without this project (MiB): ${parts.join("; ")}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
