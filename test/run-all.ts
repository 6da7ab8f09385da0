// `npm test`: builds the binary (the smoke test runs it), runs every test with
// a JUnit report, and ends with the plain line CI counts: `N passed, N failed`.
// Exits non-zero when anything failed or nothing ran.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const report = join(repo, ".test-results/junit.xml");
const bun = process.execPath;

function run(argv: string[]): number {
  const result = Bun.spawnSync(argv, { cwd: repo, stdio: ["ignore", "inherit", "inherit"] });
  return result.exitCode ?? 1;
}

if (run([bun, "run", "build"]) !== 0) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}
mkdirSync(join(repo, ".test-results"), { recursive: true });
rmSync(report, { force: true });
const exitCode = run([bun, "test", "--reporter=junit", `--reporter-outfile=${report}`, ...process.argv.slice(2)]);

let xml = "";
try {
  xml = readFileSync(report, "utf8");
} catch {
  // No report at all: counted as a failure below.
}
const totals = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
const count = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(totals)?.[1] ?? 0);
const tests = count("tests");
const failed = count("failures") + count("errors");
const skipped = count("skipped");
const passed = tests - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
if (exitCode !== 0 || failed > 0 || passed <= 0) process.exit(1);
