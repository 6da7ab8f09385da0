// `t3-dispatch serve`: load the table (refusing to start on any problem),
// wire the real mint command, WebSocket bridge, reloads (poll, file watch,
// SIGHUP), the metrics listener, and a graceful stop.
import type { Settings } from "../config/settings";
import { type DispatchTable, readTableFile } from "../config/table";
import { Failure, Invalid } from "../lib/errors";
import type { Logger } from "../lib/log";
import { createApp } from "../request/app";
import { door } from "../request/door/door";
import type { InstanceCheck } from "../request/instance/check";
import { addressesFor, listenersUnreadable } from "../request/instance/listeners";
import type { Lifecycle } from "../request/lifecycle/lifecycle";
import { Metrics, metricsResponse } from "../request/metrics";
import { proofFromSettings } from "../request/proof/from-settings";
import type { Proof } from "../request/proof/proof";
import { Routing } from "../request/route";
import { SessionCache } from "../request/session/cache";
import { CookieNames } from "../request/session/cookie-names";
import { loadSecret, OwnerBinding } from "../request/session/owner";
import { runtime } from "../runtime/current";
import type { Listening, OpenSockets } from "../runtime/runtime";
import { watchFile } from "../runtime/watch";
import { type FleetTls, fleetTlsHere } from "./fleet-tls";
import { restrictSocket } from "./unix-socket";
import { instancesFor, lifecycleFor, minterFor, onDemandElsewhere } from "./wiring";

export interface Running extends Listening {
  routing: Routing;
  metrics: Metrics;
  metricsUrl: string | undefined;
  /** The fleet listener's URL (undefined: fleetListen off). */
  fleetUrl: string | undefined;
}

interface Ready {
  table: DispatchTable;
  proof: Proof;
  tls: FleetTls;
}

/** What serving needs before it binds: the table, the proof, a readable listen table, the fleet's TLS; or every problem. */
async function prerequisites(settings: Settings, log: Logger): Promise<Ready | Invalid> {
  const table = await readTableFile(settings.dispatchFile, settings.fleet);
  const proof = await proofFromSettings(settings, log);
  const blind = addressesFor(settings.upstreamHost) ? listenersUnreadable() : undefined;
  const remote = onDemandElsewhere(settings);
  const tls = fleetTlsHere(settings.fleet, runtime.fleetUnsupported);
  const problems = [
    ...(table instanceof Invalid ? table.problems.map((p) => `${settings.dispatchFile}: ${p}`) : []),
    ...(proof instanceof Failure ? [proof.detail] : []),
    ...(blind ? [blind.detail] : []),
    ...(remote ? [remote.detail] : []),
    ...(tls instanceof Invalid ? tls.problems : []),
  ];
  if (table instanceof Invalid || proof instanceof Failure || tls instanceof Invalid || blind || remote) {
    return new Invalid(problems);
  }
  return { table, proof, tls };
}

/** How many of the table's instances listen on their port, as their own account (on the shared snapshot). */
function running(routing: Routing, instances: InstanceCheck): number {
  const up = new Set<string>();
  for (const instance of routing.instances()) if (instances.listening(instance)) up.add(instance.osUser);
  return up.size;
}

/** The apps with their stages: the session cache is forgotten for an instance seen down or replaced. */
function appFor(settings: Settings, ready: Ready, routing: Routing, metrics: Metrics, log: Logger) {
  const openSockets: OpenSockets = new Set();
  const { client } = ready.tls;
  const sessions = new SessionCache(settings.sessionCacheTtlMs);
  let lifecycle: Lifecycle | undefined;
  const instances = instancesFor(settings, {
    onImpostor: () => metrics.impostors.inc(),
    onReplaced(instance, listening) {
      // The idle sweep's own stop is logged as instance_idle_stopped.
      if (listening || !lifecycle?.stoppedIdle(instance)) {
        log.log("info", "instance_replaced", { port: instance.port, user: instance.user, listening });
      }
      sessions.forgetInstance(instance.port);
      if (listening) lifecycle?.replaced(instance);
    },
  });
  lifecycle = lifecycleFor(
    settings,
    instances,
    {
      table: () => routing.instances(),
      stopped: (instance) => sessions.forgetInstance(instance.port),
      hold: (server, request, peer) => runtime.holdWebSocket(server, request, peer, openSockets),
      metrics,
    },
    log,
  );
  const app = createApp({
    settings,
    proof: ready.proof,
    routing,
    instances,
    lifecycle,
    door: client
      ? door({
          hosts: settings.fleet.hosts,
          tls: client,
          connectTimeoutMs: settings.exchangeTimeoutMs,
          runtime,
          openSockets,
          metrics,
          log,
        })
      : undefined,
    cookieNames: new CookieNames(),
    sessions,
    owners: new OwnerBinding(loadSecret(settings.secretFile, log), settings.fleet.self),
    mint: minterFor(settings),
    runtime,
    openSockets,
    metrics,
    log,
  });
  return { app, openSockets, instances, lifecycle };
}

/** Stop accepting, let in-flight requests finish, close WebSockets with 1001 ("going away"), give up at the deadline. */
async function drainWithin(listening: Listening, openSockets: OpenSockets, timeoutMs: number, log: Logger) {
  const drained = listening.drain();
  for (const socket of openSockets) socket.close(1001, "t3-dispatch is restarting");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  const outcome = await Promise.race([drained.then(() => "drained" as const), deadline]);
  clearTimeout(timer); // drained in time: nothing may keep the process up to the deadline
  if (outcome === "late") {
    log.log("warn", "shutdown_deadline", { timeout_ms: timeoutMs });
    await listening.stop();
  }
}

export async function startServer(settings: Settings, log: Logger): Promise<Running | Invalid> {
  const ready = await prerequisites(settings, log);
  if (ready instanceof Invalid) return ready;
  const metrics = new Metrics();
  const routing = new Routing(settings.dispatchFile, ready.table, log, {
    onReload: (ok) => metrics.reloads.inc(ok ? "ok" : "failed"),
    domains: settings.identityDomains,
    read: (path) => readTableFile(path, settings.fleet),
  });
  const { app, openSockets, instances, lifecycle } = appFor(settings, ready, routing, metrics, log);
  const listening = runtime.serveApp(app.main, settings.listen);
  if (settings.listen.kind === "unix") {
    const failed = restrictSocket(settings.listen.path, settings.listenMode, settings.listenGroup);
    if (failed) {
      await listening.stop();
      return new Invalid([failed.detail]);
    }
  }
  const { listen: fleetListen } = settings.fleet;
  const { server: fleetTls } = ready.tls;
  // The fleet listener: requests other hosts' doors forward to this host's instances.
  const fleetListening = fleetListen && fleetTls ? runtime.serveApp(app.fleet(), fleetListen, fleetTls) : undefined;
  const metricsServer = settings.metricsListen
    ? runtime.serveFetch(settings.metricsListen, (request) => {
        metrics.openWebSockets.set(openSockets.size);
        if (instances) metrics.instancesRunning.set(running(routing, instances));
        return metricsResponse(request, metrics);
      })
    : undefined;
  routing.startPolling(settings.reloadIntervalMs);
  const stopSweep = lifecycle?.watchIdle();
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
    fleet: fleetListening?.url,
    host: settings.fleet.self || undefined,
    users: routing.size,
    table: settings.dispatchFile,
    identity_proof: ready.proof.mode,
  });
  const stop = async () => {
    routing.stop();
    stopSweep?.();
    watcher.close();
    const listeners = fleetListening ? [listening, fleetListening] : [listening];
    await Promise.all(listeners.map((l) => drainWithin(l, openSockets, settings.shutdownTimeoutMs, log)));
    await metricsServer?.stop();
    log.log("info", "stopped", {});
  };
  return {
    ...listening,
    routing,
    metrics,
    metricsUrl: metricsServer?.url,
    fleetUrl: fleetListening?.url,
    stop,
  };
}
