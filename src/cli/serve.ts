// `serve` and `demo`: the two subcommands that keep running, until a signal
// stops them (a second signal while draining exits at once).
import { parseArgs } from "node:util";
import { createLogger, type Logger } from "../lib/log";
import { parseSettingsArgs, settingsOrExit } from "./args";
import type { Exit } from "./exit";

async function onSignals(stop: () => Promise<void>, log: Logger, reload?: () => void): Promise<void> {
  const { runtime } = await import("../runtime/current");
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second signal while draining: the operator wants out now, not at the deadline.
      log.log("warn", "shutdown_forced", { signal });
      process.exit(1);
    }
    stopping = true;
    log.log("info", "shutdown_started", { signal });
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.log("error", "shutdown_failed", { signal, error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  runtime.onSignal("SIGTERM", () => shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => shutdown("SIGINT"));
  if (reload) runtime.onSignal("SIGHUP", reload);
}

export async function serve(args: string[]): Promise<Exit> {
  const parsed = settingsOrExit(parseSettingsArgs(args));
  if (typeof parsed === "number") return parsed;
  const log = createLogger();
  const { startServer, StartupError } = await import("../server/server");
  try {
    const running = await startServer(parsed.settings, log);
    await onSignals(running.stop, log, () => void running.routing.reload());
    return "running";
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    for (const line of error.errors) process.stderr.write(`t3-dispatch: ${line}\n`);
    return 1;
  }
}

export async function demo(args: string[]): Promise<Exit> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", default: "3700" } },
    strict: true,
  });
  const { runDemo } = await import("../demo/demo");
  const log = createLogger();
  await onSignals(await runDemo(Number(values.port), log), log);
  return "running";
}
