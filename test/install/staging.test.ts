// install.sh into a staging root (--root), file by file; idempotence;
// --uninstall keeps config; refusal paths leave the host as it was.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToEnd } from "../fixtures/child";
import { REPO, tempDir } from "../fixtures/stack";

const INSTALL = join(REPO, "install.sh");
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("SKIPPED test/install/staging.test.ts: install.sh needs root (CI runs as root)");

const EXPECTED: Array<[string, number]> = [
  ["usr/local/bin/t3-dispatch", 0o755],
  ["usr/local/bin/t3-mint", 0o755],
  ["usr/local/bin/t3-instance", 0o755],
  ["usr/local/bin/t3-install-version", 0o755],
  ["usr/local/lib/t3-dispatch/wrapper-lib.sh", 0o644],
  ["etc/sudoers.d/t3-dispatch", 0o440],
  ["etc/systemd/system/t3-dispatch.service", 0o644],
  ["etc/systemd/system/t3-backup-state.service", 0o644],
  ["etc/systemd/system/t3-backup-state.timer", 0o644],
  ["etc/systemd/system/t3-autoupdate.service", 0o644],
  ["etc/systemd/system/t3-autoupdate.timer", 0o644],
  ["etc/systemd/system/t3-serve@.service", 0o644],
  ["usr/local/share/doc/t3-dispatch/README.md", 0o644],
  ["etc/t3-serve/dispatch.json", 0o644],
  ["etc/t3-serve/t3-mint.conf", 0o644],
  ["etc/t3-serve/t3-instance.conf", 0o644],
  ["etc/t3-serve/t3-install.conf", 0o644],
  ["etc/t3-serve/t3-dispatch.env", 0o644],
  ["etc/ttyd-user-map", 0o644],
  // Root's own data, and where t3 versions go.
  ["var/backups/t3-state", 0o40700],
  ["var/lib/t3-autoupdate", 0o40700],
  ["opt/t3", 0o40755],
];
const KEPT = [
  "etc/t3-serve/dispatch.json",
  "etc/t3-serve/t3-mint.conf",
  "etc/t3-serve/t3-instance.conf",
  "etc/t3-serve/t3-install.conf",
  // Data: backups, autoupdate's state, installed t3 versions.
  "var/backups/t3-state",
  "var/lib/t3-autoupdate",
  "opt/t3",
  "etc/t3-serve/t3-dispatch.env",
  "etc/ttyd-user-map",
];

/** KEY=value lines of an EnvironmentFile, as systemd reads them (comments skipped). */
const environmentOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split("\n")
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );

/** A staging root of the test's own, installed into once (its first run's result) before `body` runs. */
async function staged(body: (root: string, install: Installer, first: Ran) => Promise<void>): Promise<void> {
  const root = tempDir("t3d-stage-");
  const install: Installer = (...args) => runToEnd(["bash", INSTALL, "--root", root, ...args]);
  try {
    await body(root, install, await install());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
type Ran = Awaited<ReturnType<typeof runToEnd>>;
type Installer = (...args: string[]) => Promise<Ran>;

describe.skipIf(!isRoot)("install.sh --root (staging)", () => {
  test("installs every file root-owned with its mode", () =>
    staged(async (root, _install, result) => {
      expect(result.code).toBe(0);
      for (const [path, mode] of EXPECTED) {
        const stat = statSync(join(root, path));
        const kind = stat.isDirectory() ? 0o40000 : 0;
        expect({ path, uid: stat.uid, gid: stat.gid, mode: kind | (stat.mode & 0o7777) }).toEqual({
          path,
          uid: 0,
          gid: 0,
          mode,
        });
      }
      // The wrapper's directory is root-owned and not writable by others.
      const binDir = statSync(join(root, "usr/local/bin"));
      expect(binDir.uid).toBe(0);
      expect(binDir.mode & 0o022).toBe(0);
      // No temporary file is left where sudo or systemd would read it.
      expect((await runToEnd(["find", root, "-name", ".t3*"])).stdout).toBe("");
    }));

  test("the sample settings are secure by default: no peer trust, and no start until a key source is set", () =>
    staged(async (root) => {
      const sample = await Bun.file(join(root, "etc/t3-serve/t3-dispatch.env")).text();
      const env = environmentOf(sample);
      // And idle instances stop after an hour (the binary's default is never: the sample says why).
      expect(env).toEqual({ T3D_IDENTITY_PROOF: "jwt", T3D_IDLE_TIMEOUT: "1h" });
      const check = (extra: Record<string, string>) =>
        runToEnd([
          "env",
          "-i",
          `PATH=${process.env.PATH ?? ""}`,
          ...Object.entries({ ...env, ...extra }).map(([key, value]) => `${key}=${value}`),
          join(root, "usr/local/bin/t3-dispatch"),
          "check",
          "--dispatch-file",
          join(root, "etc/t3-serve/dispatch.json"),
        ]);
      const bare = await check({});
      expect(bare.stdout).toContain(
        "PROBLEM identityProof: identityProof jwt needs exactly one of jwksUrl, jwksFile, jwtSecretFile",
      );
      // The walk-through's first step, uncommented: a JWKS file (the provider's keys, saved).
      const jwksLine = sample.split("\n").find((line) => line.startsWith("#T3D_JWKS_FILE=")) ?? "";
      const jwks = join(root, "jwks.json");
      writeFileSync(
        jwks,
        JSON.stringify({
          keys: [
            {
              kty: "EC",
              crv: "P-256",
              x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
              y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
              kid: "k",
            },
          ],
        }),
      );
      const configured = await check({ [jwksLine.slice(1, jwksLine.indexOf("="))]: jwks });
      expect(configured.stdout).not.toContain("PROBLEM identityProof");
      expect(configured.stdout).toMatch(/^ok\s+identityProof jwt$/m);
    }));

  test("a second run changes nothing and says so", () =>
    staged(async (root, install) => {
      const before = EXPECTED.map(([path]) => statSync(join(root, path)).mtimeMs);
      const result = await install();
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("nothing to change: t3-dispatch is already installed");
      expect(EXPECTED.map(([path]) => statSync(join(root, path)).mtimeMs)).toEqual(before);
    }));

  test("an operator's config and user map are never overwritten", () =>
    staged(async (root, install) => {
      writeFileSync(join(root, "etc/ttyd-user-map"), "alice alice\n");
      writeFileSync(join(root, "etc/t3-serve/dispatch.json"), '{"alice":{"os_user":"alice","port":3773}}\n');
      const result = await install();
      expect(result.stdout).toContain("kept");
      expect(await Bun.file(join(root, "etc/ttyd-user-map")).text()).toBe("alice alice\n");
      expect(await Bun.file(join(root, "etc/t3-serve/dispatch.json")).text()).toContain("3773");
    }));

  test("--uninstall removes what it installed and keeps config and user map", () =>
    staged(async (root, install) => {
      const result = await install("--uninstall");
      expect(result.code).toBe(0);
      for (const [path] of EXPECTED)
        expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: KEPT.includes(path) });
      expect((await install("--uninstall")).stdout).toContain("nothing to remove");
    }));

  test("refusals: unknown flag, missing binary — exit non-zero, nothing installed", async () => {
    const empty = tempDir("t3d-stage-");
    try {
      const bad = await runToEnd(["bash", INSTALL, "--root", empty, "--frobnicate"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("unknown argument");
      const missing = await runToEnd(["bash", INSTALL, "--root", empty, "--binary", "/nonexistent/t3-dispatch"]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("binary missing");
      expect((await runToEnd(["find", empty, "-mindepth", "1"])).stdout).toBe("");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("a sudoers drop-in that visudo rejects stops the install before any change", async () => {
    // A copy of the checkout whose drop-in is broken.
    const copy = tempDir("t3d-broken-");
    const target = tempDir("t3d-stage-");
    try {
      await runToEnd(["cp", "-r", join(REPO, "install.sh"), join(REPO, "deploy"), join(REPO, "README.md"), copy]);
      writeFileSync(join(copy, "deploy/sudoers"), "t3-dispatch ALL=(root NOPASSWD /usr/local/bin/t3-mint\n");
      const result = await runToEnd([
        "bash",
        join(copy, "install.sh"),
        "--root",
        target,
        "--binary",
        join(REPO, "dist/t3-dispatch"),
      ]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("visudo rejects");
      expect((await runToEnd(["find", target, "-mindepth", "1"])).stdout).toBe("");
    } finally {
      rmSync(copy, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    }
  });
});

describe("install.sh without root", () => {
  test("--help works for anyone", async () => {
    const result = await runToEnd(["bash", INSTALL, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--uninstall");
  });

  test.skipIf(!isRoot)("as a non-root user it refuses clearly", async () => {
    // A copy the user `nobody` can read: the checkout may sit where it cannot (/root/…).
    const dir = tempDir("t3d-nonroot-");
    const script = join(dir, "install.sh");
    try {
      copyFileSync(INSTALL, script);
      chmodSync(dir, 0o755);
      chmodSync(script, 0o644);
      const result = await runToEnd([
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "bash",
        script,
        "--root",
        "/tmp/never",
      ]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("must run as root");
      expect(existsSync("/tmp/never")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
