// `serve` and `demo`: the two subcommands that keep running, until a signal
// stops them (a second signal while draining exits at once).
import { parseArgs } from "node:util";
import { Invalid } from "../lib/errors";
import { createLogger, type Logger } from "../lib/log";
import { parseSettingsArgs, unusableSettings } from "./args";
import { type Exit, refused } from "./exit";

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
  const parsed = parseSettingsArgs(args);
  if (parsed instanceof Invalid) return unusableSettings(parsed);
  const log = createLogger();
  const { startServer } = await import("../server/server");
  const running = await startServer(parsed.settings, log);
  // Settings the operator must fix (the table, the key source, TLS files): 2, which the unit does not restart.
  if (running instanceof Invalid) return refused(running, 2);
  await onSignals(running.stop, log, () => void running.routing.reload());
  return "running";
}

export async function demo(args: string[]): Promise<Exit> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", default: "3700" } },
    strict: true,
  });
  const { runDemo } = await import("../demo/demo");
  const log = createLogger();
  const stop = await runDemo(Number(values.port), log);
  if (stop instanceof Invalid) return refused(stop, 1, "demo");
  await onSignals(stop, log);
  return "running";
}
