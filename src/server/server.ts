// `t3-dispatch serve`: load the table (refusing to start on any error), wire
// the real mint command, WebSocket bridge, reloads (poll, file watch, SIGHUP),
// the metrics listener, and a graceful stop.

import type { Settings } from "../config/settings";
import { readTableFile } from "../config/table";
import { Failure } from "../lib/errors";
import type { Logger } from "../lib/log";
import { createApp } from "../request/app";
import { addressesFor, listenersUnreadable } from "../request/instance/listeners";
import { Metrics, metricsResponse } from "../request/metrics";
import { proofFromSettings } from "../request/proof/from-settings";
import { Routing } from "../request/route";
import { SessionCache } from "../request/session/cache";
import { CookieNames } from "../request/session/cookie-names";
import { loadSecret, OwnerBinding } from "../request/session/owner";
import { runtime } from "../runtime/current";
import type { Listening, OpenSockets } from "../runtime/runtime";
import { watchFile } from "../runtime/watch";
import { restrictSocket } from "./unix-socket";
import { instancesFor, minterFor } from "./wiring";

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
  const proof = await proofFromSettings(settings, log);
  const blind = addressesFor(settings.upstreamHost) ? listenersUnreadable() : undefined;
  const errors = [
    ...(loaded.ok ? [] : loaded.errors.map((e) => `${settings.dispatchFile}: ${e}`)),
    ...(proof instanceof Failure ? [proof.detail] : []),
    ...(blind ? [blind.detail] : []),
  ];
  if (!loaded.ok || proof instanceof Failure || blind) throw new StartupError(errors);

  const metrics = new Metrics();
  const routing = new Routing(settings.dispatchFile, loaded.table, log, {
    onReload: (ok) => metrics.reloads.inc(ok ? "ok" : "failed"),
    domains: settings.identityDomains,
  });
  const openSockets: OpenSockets = new Set();
  const sessions = new SessionCache(settings.sessionCacheTtlMs);
  const app = createApp({
    settings,
    proof,
    routing,
    instances: instancesFor(settings, {
      onImpostor: () => metrics.impostors.inc(),
      onReplaced(port) {
        log.log("info", "instance_replaced", { port });
        sessions.forgetInstance(port);
      },
    }),
    cookieNames: new CookieNames(),
    sessions,
    owners: new OwnerBinding(loadSecret(settings.secretFile, log)),
    mint: minterFor(settings),
    runtime,
    openSockets,
    metrics,
    log,
  });
  const listening = runtime.serveApp(app, settings.listen);
  if (settings.listen.kind === "unix") {
    const failed = restrictSocket(settings.listen.path, settings.listenMode, settings.listenGroup);
    if (failed) {
      await listening.stop();
      throw new StartupError([failed.detail]);
    }
  }
  const metricsServer = settings.metricsListen
    ? runtime.serveFetch(settings.metricsListen, (request) => {
        metrics.openWebSockets.set(openSockets.size);
        return metricsResponse(request, metrics);
      })
    : undefined;
  routing.startPolling(settings.reloadIntervalMs);
  const watcher = watchFile(
    settings.dispatchFile,
    () => void routing.reload(),
    runtime.watchDirectory,
    (error) => log.log("error", "table_watch_failed", { path: settings.dispatchFile, error: error.message }),
  );
  log.log("info", "listening", {
    runtime: runtime.name,
    url: listening.url,
    metrics: metricsServer?.url,
    users: routing.size,
    table: settings.dispatchFile,
    identity_proof: proof.mode,
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
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), settings.shutdownTimeoutMs);
      });
      const outcome = await Promise.race([drained.then(() => "drained" as const), deadline]);
      clearTimeout(timer); // drained in time: nothing may keep the process up to the deadline
      if (outcome === "late") {
        log.log("warn", "shutdown_deadline", { timeout_ms: settings.shutdownTimeoutMs });
        await listening.stop();
      }
      await metricsServer?.stop();
      log.log("info", "stopped", {});
    },
  };
}
