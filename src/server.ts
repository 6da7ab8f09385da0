// `t3-dispatch serve`: load the table (refusing to start on any error), wire
// the real mint command, WebSocket bridge, reloads (poll, file watch, SIGHUP),
// the metrics listener, and a graceful stop.
import { createApp } from "./app";
import type { Settings } from "./config/settings";
import type { Logger } from "./log";
import { Metrics, metricsResponse } from "./metrics";
import { mintCredential } from "./mint";
import { loadSecret, OwnerBinding } from "./owner";
import { Routing, readTableFile } from "./routing";
import { runCommand } from "./runtime/command";
import { runtime } from "./runtime/current";
import type { Listening, OpenSockets } from "./runtime/runtime";
import { watchFile } from "./runtime/watch";
import { CookieNames } from "./session";
import { SessionCache } from "./session-cache";
import { trustedPeers } from "./trust";

export interface Running extends Listening {
  routing: Routing;
  metrics: Metrics;
  metricsUrl: string | undefined;
}

export class StartupError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join("; "));
    this.name = "StartupError";
  }
}

export async function startServer(settings: Settings, log: Logger): Promise<Running> {
  const loaded = await readTableFile(settings.dispatchFile);
  const trusted = trustedPeers(settings.trustedProxies);
  const errors = [
    ...(loaded.ok ? [] : loaded.errors.map((e) => `${settings.dispatchFile}: ${e}`)),
    ...(Array.isArray(trusted) ? trusted : []),
  ];
  if (!loaded.ok || Array.isArray(trusted)) throw new StartupError(errors);

  const metrics = new Metrics();
  const routing = new Routing(settings.dispatchFile, loaded.table, log, (ok) =>
    metrics.reloads.inc(ok ? "ok" : "failed"),
  );
  const openSockets: OpenSockets = new Set();
  const app = createApp({
    settings,
    routing,
    cookieNames: new CookieNames(),
    sessions: new SessionCache(settings.sessionCacheTtlMs),
    owners: new OwnerBinding(loadSecret(settings.secretFile, log)),
    trusted,
    mint: (osUser) =>
      mintCredential(osUser, {
        command: settings.mintCommand,
        timeoutMs: settings.mintTimeoutMs,
        run: (argv, timeoutMs) => runCommand(runtime.spawn, argv, timeoutMs),
      }),
    runtime,
    openSockets,
    metrics,
    log,
  });
  const listening = runtime.serveApp(app, settings.listen);
  const metricsServer = settings.metricsListen
    ? runtime.serveFetch(settings.metricsListen, (request) => {
        metrics.openWebSockets.set(openSockets.size);
        return metricsResponse(request, metrics);
      })
    : undefined;
  routing.startPolling(settings.reloadIntervalMs);
  const watcher = watchFile(settings.dispatchFile, () => void routing.reload(), runtime.watchDirectory);
  log.log("info", "listening", {
    runtime: runtime.name,
    url: listening.url,
    metrics: metricsServer?.url,
    users: routing.size,
    table: settings.dispatchFile,
  });

  return {
    ...listening,
    routing,
    metrics,
    metricsUrl: metricsServer?.url,
    // Stop accepting, let in-flight requests finish, close WebSockets with 1001
    // ("going away"), and give up waiting at the deadline.
    stop: async () => {
      routing.stop();
      watcher.close();
      const drained = listening.drain();
      for (const socket of openSockets) socket.close(1001, "t3-dispatch is restarting");
      const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), settings.shutdownTimeoutMs));
      if ((await Promise.race([drained.then(() => "drained" as const), deadline])) === "late") {
        log.log("warn", "shutdown_deadline", { timeout_ms: settings.shutdownTimeoutMs });
        await listening.stop();
      }
      await metricsServer?.stop();
      log.log("info", "stopped", {});
    },
  };
}
