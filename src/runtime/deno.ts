// The Deno runtime (`deno run --unstable-net … src/main.ts serve`): Deno.serve
// with Elysia's web-standard fetch, Deno.upgradeWebSocket, Deno.Command,
// Deno signal listeners and Deno.watchFs. Nothing here runs at import time:
// the Bun binary carries this module unused.
import { basename } from "node:path";
import type { ListenAddress } from "../config/setting-values";
import { Failure } from "../errors";
import { type ChildIO, commandRunner, type Spawned } from "./command";
import type { DenoApi, DenoGlobals, DenoHttpServer } from "./deno-api";
import { bridgeWebSocketDeno } from "./deno-websocket-bridge";
import { listenUrl, type Runtime } from "./runtime";

const globals = () => globalThis as unknown as DenoGlobals;

/** Deno.serve hands the peer to the handler, not to the app: kept per request for peerAddress. */
const peers = new WeakMap<Request, string>();

function listenOn(
  listen: ListenAddress,
  handler: (request: Request) => Response | Promise<Response>,
): { server: DenoHttpServer; url: string; port: number | undefined } {
  const where = listen.kind === "unix" ? { path: listen.path } : { hostname: listen.hostname, port: listen.port };
  const server = globals().Deno.serve({ ...where, onListen() {} }, (request, info) => {
    if (info.remoteAddr.hostname !== undefined) peers.set(request, info.remoteAddr.hostname);
    return handler(request);
  });
  const port = listen.kind === "tcp" ? server.addr.port : undefined;
  return { server, port, url: listenUrl(listen, port) };
}

/** Deno's fetch decodes a compressed body yet keeps its content-encoding unless it was asked for identity. */
async function fetchUpstream(url: string, init: RequestInit & { headers: Headers }): Promise<Response> {
  init.headers.set("accept-encoding", "identity");
  const upstream = await fetch(url, init);
  // Deno's response headers are immutable: the proxy strips hop-by-hop ones.
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: new Headers(upstream.headers),
  });
}

function webSocketStream() {
  const stream = globals().WebSocketStream;
  if (!stream) throw new Error("Deno needs --unstable-net (WebSocketStream) to bridge WebSockets");
  return stream;
}

/** Deno.Command: argv and environment; a child's stdin/stdout as a raw descriptor is Bun-only (the ops commands). */
function spawnDeno(argv: string[], io: ChildIO): Spawned {
  if (io.stdin !== undefined || io.stdout !== undefined) throw new Error("a descriptor as a child's stdio needs Bun");
  const [command = "", ...args] = argv;
  const child = new (globals().Deno.Command)(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(io.env ? { env: io.env, clearEnv: true } : {}),
  }).spawn();
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    exited: child.status.then((status) => (status.signal === null ? status.code : null)),
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    },
  };
}

/** A WebSocketStream with request headers (Deno's takes them) that opens within the timeout, closed at once. */
const probeWebSocketDeno: Runtime["probeWebSocket"] = async (url, headers, timeoutMs) => {
  const socket = new (webSocketStream())(url, {
    protocols: [],
    headers: new Headers(headers),
    signal: AbortSignal.timeout(timeoutMs),
  });
  socket.closed.catch(() => undefined);
  try {
    const { protocol } = await socket.opened;
    socket.close({ closeCode: 1000, reason: "health check" });
    return { protocol };
  } catch (error) {
    return new Failure("websocket_refused", (error as Error).message || "upgrade refused");
  }
};

export const denoRuntime: Runtime = {
  name: "deno",
  serveApp(app, listen) {
    webSocketStream(); // refuse to start rather than fail the first WebSocket
    const { server, port, url } = listenOn(listen, (request) => app.fetch(request));
    return {
      port,
      url,
      drain: () => server.shutdown(),
      // Deno.serve has no forced close: stop accepting; the process exits after this.
      stop: async () => void server.shutdown(),
    };
  },
  serveFetch(listen, fetch) {
    const { server, url } = listenOn(listen, fetch);
    return { url, stop: () => server.shutdown() };
  },
  peerAddress: (_server, request) => peers.get(request),
  bridgeWebSocket: (_server, request, target, log, open) =>
    bridgeWebSocketDeno(globals().Deno, webSocketStream(), request, target, log, open),
  fetchUpstream,
  runCommand: commandRunner(spawnDeno),
  probeWebSocket: probeWebSocketDeno,
  onSignal: (signal, handler) => globals().Deno.addSignalListener(signal, handler),
  watchDirectory(dir, onEvent, onError) {
    let watcher: ReturnType<DenoApi["watchFs"]>;
    try {
      watcher = globals().Deno.watchFs(dir);
    } catch {
      return { close() {} }; // the poll (and SIGHUP) still reload
    }
    let closed = false;
    void (async () => {
      try {
        for await (const event of watcher) for (const path of event.paths) onEvent(basename(path));
      } catch (error) {
        // Deno ends the iteration with an error when the watch breaks; only a close is expected.
        if (!closed) onError(error as Error);
      }
    })();
    return {
      close: () => {
        closed = true;
        watcher.close();
      },
    };
  },
};
