// Command line: `serve` (the service), `demo`, the ops commands, and the demo's
// stand-ins for the mint wrapper (`fake-mint`), the t3 CLI (`fake-t3`),
// `t3 serve` (`fake-instance`) and the instance wrapper (`fake-instance-control`). argv picks the subcommand; this folder is the
// only code that picks an exit code.
// Settings come from flags > T3D_* environment > --config file > defaults.
import pkg from "../../package.json" with { type: "json" };
import { DEFAULTS, envName, flagName, SETTING_KEYS } from "../config/setting-schema";
import type { Exit } from "./exit";

/** The operator's subcommands: their usage line and what they do. */
const USAGE = {
  serve: ["serve [options]", "run the dispatcher"],
  demo: ["demo [--port N]", "fake t3 instances for alice and bob behind the real dispatcher"],
  check: ["check [options]", "validate config and table, the mint command, every instance; list all problems"],
  healthcheck: [
    "healthcheck [--user U | --all] [--json]",
    "the real pairing handshake against each instance; exit 0 if all pass",
  ],
  backup: [
    "backup [--user U] [--dest DIR] [--keep N] [--json]",
    "online, verified backups of each instance's state database",
  ],
  restore: [
    "restore --user U --from FILE [--force]",
    "put a backup back (the instance must be stopped unless --force)",
  ],
  autoupdate: [
    "autoupdate [--version V] [--canary U] [--dry-run]",
    "update t3: canary first, health-checked, rolled back (version and state) on failure",
  ],
} as const;
type Subcommand = keyof typeof USAGE;
const isSubcommand = (name: string | undefined): name is Subcommand => name !== undefined && Object.hasOwn(USAGE, name);

const SETTINGS_HELP = `Settings, for every command (each also an environment variable):
${SETTING_KEYS.map((k) => `  --${flagName(k).padEnd(23)} ${envName(k).padEnd(27)} default: ${DEFAULTS[k]}`).join("\n")}
  --config FILE             T3D_CONFIG                  a JSON file with the same keys (camelCase)
`;

const HELP = `t3-dispatch ${pkg.version} — per-user dispatcher and auto-pairing proxy for t3 serve

Usage:
${Object.values(USAGE)
  .map(([usage, what]) => `  t3-dispatch ${usage}\n${" ".repeat(34)}${what}`)
  .join("\n")}
  t3-dispatch <command> --help | t3-dispatch --help | --version

${SETTINGS_HELP}`;

const usageOf = (command: Subcommand) => `Usage: t3-dispatch ${USAGE[command][0]}\n  ${USAGE[command][1]}\n`;

export async function main(argv: string[]): Promise<Exit> {
  const [command, ...rest] = argv;
  if (isSubcommand(command) && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(`${usageOf(command)}\n${command === "demo" ? "" : SETTINGS_HELP}`);
    return 0;
  }
  try {
    switch (command) {
      case "serve":
        return await (await import("./serve")).serve(rest);
      case "demo":
        return await (await import("./serve")).demo(rest);
      case "check":
        return await (await import("./check")).checkCommand(rest);
      case "healthcheck":
        return await (await import("./healthcheck")).healthcheckCommand(rest);
      case "backup":
        return await (await import("./backup")).backupCommand(rest);
      case "restore":
        return await (await import("./restore")).restoreCommand(rest);
      case "autoupdate":
        return await (await import("./autoupdate")).autoupdateCommand(rest);
      case "instance-port":
        return await (await import("./instance-port")).instancePortCommand(rest);
      case "snapshot-db":
        return (await import("./account-side")).snapshotCommand(rest);
      case "restore-db":
        return (await import("./account-side")).restoreDbCommand(rest);
      case "fake-mint":
        return await (await import("../demo/fake-mint")).fakeMintMain(rest);
      case "fake-t3":
        return rest[0] === "serve"
          ? (await import("../demo/fake-instance-main")).fakeT3Serve(rest.slice(1))
          : (await import("../demo/fake-mint")).fakeT3CliMain(rest);
      case "fake-instance":
        return (await import("../demo/fake-instance-main")).fakeInstanceMain(rest);
      case "fake-instance-control":
        return await (await import("../demo/fake-instance-control")).fakeInstanceControlMain(rest);
      case "--version":
      case "-v":
        process.stdout.write(`${pkg.version}\n`);
        return 0;
      case undefined:
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(HELP);
        return 0;
      default:
        process.stderr.write(`t3-dispatch: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
        return 64;
    }
  } catch (error) {
    // An unknown flag or a missing value (parseArgs throws): the command's own usage beside it.
    const badArgs = String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");
    const usage =
      badArgs && isSubcommand(command)
        ? `\n${usageOf(command)}(t3-dispatch ${command} --help lists every option)\n`
        : "";
    process.stderr.write(`t3-dispatch ${command ?? ""}: ${(error as Error).message}\n${usage}`);
    // 2 is input to fix (the unit does not restart on it); anything else thrown (a listen that failed:
    // the address not there yet at boot, the port still held) may pass, and is 1.
    return badArgs ? 2 : 1;
  }
}
