// The layering rules `npm run lint` enforces beside Biome (whose
// noImportCycles catches cycles between files):
//   - only the server (src/server/) imports src/request/app.ts: a stage that
//     reaches back into the wiring is how the old cycle started;
//   - the folders of src/ import each other in one direction: no cycle
//     between folders (a file at the src/ root counts as its own folder).
// Usage: bun .ci/layers.ts [src-dir]; prints each problem, exits 1 on any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const APP = "request/app.ts";
const MAY_IMPORT_APP = "server";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The src files a file imports (relative specifiers that resolve to a .ts file). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)];
  return specifiers.flatMap(([, spec = ""]) => {
    const base = resolve(dirname(file), spec);
    const found = [`${base}.ts`, join(base, "index.ts"), base].find((p) => existsSync(p) && statSync(p).isFile());
    return found?.endsWith(".ts") ? [found] : [];
  });
}

const folderOf = (src: string, file: string): string => {
  const path = relative(src, file);
  return path.includes("/") ? (path.split("/")[0] ?? path) : path.replace(/\.ts$/, "");
};

/** Every folder cycle, each once, as `a → b (a/x.ts) → … → a (…)`: each step names a file that makes it. */
function folderCycles(edges: Map<string, Map<string, string>>): string[] {
  const cycles: string[] = [];
  const walk = (start: string, at: string, path: string[], steps: string[]): void => {
    for (const [next, example] of edges.get(at) ?? []) {
      const step = `${next} (${example})`;
      if (next === start) cycles.push([start, ...steps, step].join(" → "));
      // Each cycle is found once: from its smallest folder, through larger ones only.
      else if (!path.includes(next) && next > start) walk(start, next, [...path, next], [...steps, step]);
    }
  };
  for (const folder of [...edges.keys()].sort()) walk(folder, folder, [folder], []);
  return cycles;
}

export function checkLayers(src: string): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Map<string, string>>();
  for (const file of sources(src)) {
    const from = folderOf(src, file);
    for (const target of importsOf(file)) {
      const to = folderOf(src, target);
      if (relative(src, target) === APP && from !== MAY_IMPORT_APP) {
        problems.push(`${relative(src, file)} imports ${APP}: only ${MAY_IMPORT_APP}/ wires the app`);
      }
      if (from === to) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, relative(src, file));
      edges.set(from, out);
    }
  }
  for (const cycle of folderCycles(edges)) problems.push(`folders import each other: ${cycle}`);
  return problems;
}

if (import.meta.main) {
  const src = resolve(process.argv[2] ?? join(import.meta.dir, "../src"));
  const problems = checkLayers(src);
  for (const problem of problems) console.error(`layers: ${problem}`);
  if (problems.length > 0) process.exit(1);
}
