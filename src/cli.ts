// Command line: `serve` (the service), `demo`, and the demo's stand-ins for the
// mint wrapper (`fake-mint`) and the t3 CLI (`fake-t3`).
// Settings come from flags > T3D_* environment > --config file > defaults.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pkg from "../package.json";
import {
  DEFAULTS,
  envName,
  flagName,
  type RawSettings,
  resolveSettings,
  SETTING_KEYS,
  settingsFromEnv,
} from "./config/settings";
import { createLogger } from "./log";

const HELP = `t3-dispatch ${pkg.version} — per-user dispatcher and auto-pairing proxy for t3 serve

Usage:
  t3-dispatch serve [options]     run the dispatcher
  t3-dispatch demo [--port N]     fake t3 instances for alice and bob behind the real dispatcher
  t3-dispatch --help | --version

Options of serve (each also an environment variable):
${SETTING_KEYS.map((k) => `  --${flagName(k).padEnd(18)} ${envName(k).padEnd(22)} default: ${DEFAULTS[k]}`).join("\n")}
  --config FILE        T3D_CONFIG             a JSON file with the same keys (camelCase)
`;

type Exit = number | "running";

function loadConfigFile(path: string | undefined): unknown {
  if (path === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`config file ${path}: ${(error as Error).message}`);
  }
}

function onSignals(stop: () => Promise<void>, reload?: () => void): void {
  const shutdown = () => void stop().then(() => process.exit(0));
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (reload) process.on("SIGHUP", reload);
}

async function serve(args: string[]): Promise<Exit> {
  const options: Record<string, { type: "string" }> = {
    config: { type: "string" },
  };
  for (const key of SETTING_KEYS) options[flagName(key)] = { type: "string" };
  const { values } = parseArgs({ args, options, strict: true });
  const flags: Partial<Record<keyof RawSettings, string>> = {};
  for (const key of SETTING_KEYS) {
    const value = values[flagName(key)];
    if (typeof value === "string") flags[key] = value;
  }
  const log = createLogger();
  const configPath = (values.config as string | undefined) ?? process.env.T3D_CONFIG;
  const resolved = resolveSettings({
    file: loadConfigFile(configPath),
    env: settingsFromEnv(process.env),
    flags,
  });
  if (!resolved.ok) {
    for (const error of resolved.errors) process.stderr.write(`t3-dispatch: ${error}\n`);
    return 2;
  }
  const { startServer, StartupError } = await import("./server");
  try {
    const running = await startServer(resolved.settings, log);
    onSignals(running.stop, () => void running.routing.reload());
    return "running";
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    for (const line of error.errors) process.stderr.write(`t3-dispatch: ${line}\n`);
    return 1;
  }
}

async function demo(args: string[]): Promise<Exit> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", default: "3700" } },
    strict: true,
  });
  const { runDemo } = await import("./demo/demo");
  onSignals(await runDemo(Number(values.port), createLogger()));
  return "running";
}

export async function main(argv: string[]): Promise<Exit> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "demo":
        return await demo(rest);
      case "fake-mint":
        return await (await import("./demo/fake-mint")).fakeMintMain(rest);
      case "fake-t3":
        return (await import("./demo/fake-mint")).fakeT3CliMain(rest);
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
    process.stderr.write(`t3-dispatch: ${(error as Error).message}\n`);
    return 2;
  }
}
