// The layering check `npm run lint` runs (.ci/layers.ts): it passes on src/,
// and it catches a stage importing app.ts and folders importing each other.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLayers } from "../../.ci/layers";
import { REPO } from "../fixtures/stack";

const trees: string[] = [];
afterAll(() => {
  for (const tree of trees) rmSync(tree, { recursive: true, force: true });
});

/** A src/ tree of the given files (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "t3d-layers-"));
  trees.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("layers", () => {
  test("src/ has no stage importing app.ts and no folder cycle", () => {
    expect(checkLayers(join(REPO, "src"))).toEqual([]);
  });

  test("a stage that imports app.ts is named; the server may", () => {
    const src = tree({
      "request/app.ts": "export const app = 1;\n",
      "request/admission.ts": 'import type { app } from "./app";\n',
      "server/server.ts": 'import { app } from "../request/app";\n',
    });
    expect(checkLayers(src)).toEqual(["request/admission.ts imports request/app.ts: only server/ wires the app"]);
  });

  test("folders that import each other, directly or around a ring, are named with a file for each step", () => {
    const src = tree({
      "config/settings.ts": 'import { cidr } from "../lib/cidr";\nexport const settings = cidr;\n',
      "lib/cidr.ts": 'export const cidr = 1;\nexport { x } from "../request/x";\n',
      "request/x.ts": 'import { settings } from "../config/settings";\nexport const x = settings;\n',
      "t3/a.ts": 'import "../runtime/b";\n',
      "runtime/b.ts": 'export const b = await import("../t3/a");\n',
    });
    expect(checkLayers(src)).toEqual([
      "folders import each other: config → lib (config/settings.ts) → request (lib/cidr.ts) → config (request/x.ts)",
      "folders import each other: runtime → t3 (runtime/b.ts) → runtime (t3/a.ts)",
    ]);
  });
});
