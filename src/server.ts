// `t3-dispatch serve`: load the table (refusing to start on any error), wire
// the real mint command, WebSocket bridge and reload loop, and listen.
import { createApp } from "./app";
import type { Settings } from "./config/settings";
import type { Logger } from "./log";
import { mintCredential } from "./mint";
import { Routing, readTableFile } from "./routing";
import { type Listening, peerAddress, serveApp } from "./runtime/serve";
import { runCommand } from "./runtime/spawn";
import { bridgeWebSocket } from "./runtime/websocket-bridge";
import { CookieNames } from "./session";

export interface Running extends Listening {
  routing: Routing;
}

export class StartupError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join("; "));
    this.name = "StartupError";
  }
}

export async function startServer(settings: Settings, log: Logger): Promise<Running> {
  const loaded = await readTableFile(settings.dispatchFile);
  if (!loaded.ok) throw new StartupError(loaded.errors.map((e) => `${settings.dispatchFile}: ${e}`));
  const routing = new Routing(settings.dispatchFile, loaded.table, log);
  const app = createApp({
    settings,
    routing,
    cookieNames: new CookieNames(),
    mint: (osUser) =>
      mintCredential(osUser, {
        command: settings.mintCommand,
        timeoutMs: settings.mintTimeoutMs,
        run: runCommand,
      }),
    bridge: (server, request, target, bridgeLog) =>
      bridgeWebSocket(server as Parameters<typeof bridgeWebSocket>[0], request, target, bridgeLog),
    peerAddress,
    log,
  });
  const listening = serveApp(app, settings.listen);
  routing.startPolling(settings.reloadIntervalMs);
  log.log("info", "listening", {
    url: listening.url,
    users: routing.size,
    table: settings.dispatchFile,
  });
  return {
    ...listening,
    routing,
    stop: async () => {
      routing.stop();
      await listening.stop();
    },
  };
}
