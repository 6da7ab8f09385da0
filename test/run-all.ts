// `npm test`: builds the binary (the smoke test runs it), runs every test with
// a JUnit report, then the dispatcher integration scenarios again against a
// dispatcher running under Deno, then each test file alone in a process of its
// own (a file that passes only after another has run fails there), and ends
// with the plain line CI counts: `N passed, N failed`. Exits non-zero when
// anything failed or nothing ran.
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const bun = process.execPath;
/** The scenarios that must behave the same whichever runtime serves the dispatcher. */
const DENO_SUITE = ["test/integration", "test/faults", "test/security"];

function run(argv: string[], env: Record<string, string | undefined> = process.env): number {
  const result = Bun.spawnSync(argv, { cwd: repo, env, stdio: ["ignore", "inherit", "inherit"] });
  return result.exitCode ?? 1;
}

/** Every test file under test/, in a stable order. */
function testFiles(dir = join(repo, "test")): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith(".test.ts") ? [relative(repo, path)] : [];
    });
}

/** One `bun test` run with its own report: its exit code and counts. */
function suite(name: string, args: string[], env?: Record<string, string | undefined>) {
  const report = join(repo, `.test-results/${name}.xml`);
  rmSync(report, { force: true });
  const exitCode = run([bun, "test", "--reporter=junit", `--reporter-outfile=${report}`, ...args], env);
  let xml = "";
  try {
    xml = readFileSync(report, "utf8");
  } catch {
    // No report at all: counted as a failure below.
  }
  const totals = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
  const count = (key: string) => Number(new RegExp(`\\b${key}="(\\d+)"`).exec(totals)?.[1] ?? 0);
  const failed = count("failures") + count("errors");
  const skipped = count("skipped");
  const passed = count("tests") - failed - skipped;
  return { ok: exitCode === 0 && failed === 0 && passed > 0, passed, failed, skipped };
}

if (run([bun, "run", "build"]) !== 0) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}
mkdirSync(join(repo, ".test-results"), { recursive: true });
const args = process.argv.slice(2);
const runs = [suite("junit", args)];
// With arguments (a file, -t …) only that selection runs, under Bun.
if (args.length === 0) {
  console.log("\n— the dispatcher integration scenarios again, the dispatcher under Deno —");
  runs.push(suite("junit-deno", DENO_SUITE, { ...process.env, TEST_DISPATCHER_RUNTIME: "deno" }));
  console.log("\n— each test file again, alone in a process of its own —");
  const alone = testFiles().map((file) => ({ file, ...suite(`alone-${file.replace(/\W+/g, "_")}`, [`./${file}`]) }));
  const failing = alone.filter((r) => !r.ok).map((r) => r.file);
  console.log(`each file alone: ${alone.length - failing.length} of ${alone.length} files pass on their own`);
  for (const file of failing) console.log(`  fails alone: ${file}`);
  runs.push(...alone);
}
const sum = (key: "passed" | "failed" | "skipped") => runs.reduce((total, r) => total + r[key], 0);
console.log(
  `${sum("passed")} passed, ${sum("failed")} failed${sum("skipped") > 0 ? `, ${sum("skipped")} skipped` : ""}`,
);
if (!runs.every((r) => r.ok)) process.exit(1);
