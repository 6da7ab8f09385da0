// A stand-in for `t3-mint` + `t3 auth pairing create --json`, for the demo and
// the tests: it writes a one-time credential where the fake instance of that
// OS user looks for it (they share a state directory, as the real CLI and
// server share state.sqlite) and prints pretty-printed JSON like t3 0.0.26+.
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

export const credentialDir = (stateDir: string): string => join(stateDir, "credentials");

/** Mints into `<stateRoot>/<osUser>` and returns what the CLI would print. */
export function fakeMint(stateRoot: string, osUser: string): string {
  return fakeMintInto(join(stateRoot, osUser));
}

/** Mints into the state directory of one fake instance (`--base-dir` of the real CLI). */
function fakeMintInto(stateDir: string): string {
  const credential = randomBytes(9).toString("base64url"); // 12 chars, like t3's
  mkdirSync(credentialDir(stateDir), { recursive: true });
  writeFileSync(join(credentialDir(stateDir), credential), "");
  appendFileSync(join(stateDir, "mint.log"), `${new Date().toISOString()} uid=${process.getuid?.()}\n`);
  const output = {
    id: randomBytes(8).toString("hex"),
    credential,
    scopes: ["client"],
    expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
  };
  return `${JSON.stringify(output, null, 2)}\n`;
}

const MODES = ["ok", "garbage", "empty", "fail", "hang"] as const;

/**
 * `fake-mint --state-root DIR [--mode M] [--delay MS] <os_user>`; modes other
 * than ok misbehave on purpose, and --delay is the real CLI's Node start (~1.5 s).
 */
export async function fakeMintMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "state-root": { type: "string" },
      mode: { type: "string", default: "ok" },
      delay: { type: "string", default: "0" },
    },
    allowPositionals: true,
  });
  const mode = values.mode as (typeof MODES)[number];
  const osUser = positionals[0];
  if (!values["state-root"] || positionals.length !== 1 || !osUser || !MODES.includes(mode)) {
    process.stderr.write(`usage: fake-mint --state-root DIR [--mode ${MODES.join("|")}] [--delay MS] <os_user>\n`);
    return 64;
  }
  await Bun.sleep(Number(values.delay) || 0);
  if (mode === "fail") {
    process.stderr.write(`fake-mint: ${osUser} is not a mapped user\n`);
    return 3;
  }
  if (mode === "hang") return new Promise(() => {});
  if (mode === "garbage") process.stdout.write("Minting...\nnot json\n");
  else if (mode === "empty") process.stdout.write('{"credential": ""}\n');
  else process.stdout.write(fakeMint(values["state-root"], osUser));
  return 0;
}

if (import.meta.main) process.exit(await fakeMintMain(process.argv.slice(2)));

/** `fake-t3 auth pairing create --base-dir DIR --json`: the real t3 CLI's form, for the install tests. */
export function fakeT3CliMain(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { "base-dir": { type: "string" }, json: { type: "boolean" } },
    allowPositionals: true,
  });
  if (positionals.join(" ") !== "auth pairing create" || !values["base-dir"] || !values.json) {
    process.stderr.write("usage: fake-t3 auth pairing create --base-dir DIR --json\n");
    return 64;
  }
  process.stdout.write(fakeMintInto(values["base-dir"]));
  return 0;
}
