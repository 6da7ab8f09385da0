// The Deno runtime (`deno run --unstable-net … src/main.ts serve`): Deno.serve
// with Elysia's web-standard fetch, Deno.upgradeWebSocket, Deno.Command,
// Deno signal listeners and Deno.watchFs. Nothing here runs at import time:
// the Bun binary carries this module unused.
import { basename } from "node:path";
import { type ChildIO, commandRunner, type Spawned } from "../command";
import type { Runtime } from "../runtime";
import { type DenoApi, globals, webSocketStream } from "./api";
import { peerAddress, serveApp, serveFetch } from "./serve";
import { bridgeWebSocketDeno, holdWebSocketDeno } from "./websocket-bridge";
import { probeWebSocketDeno } from "./websocket-probe";

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

export const denoRuntime: Runtime = {
  name: "deno",
  serveApp,
  // Deno's WebSocket clients take no CA and no client certificate.
  fleetUnsupported: "a fleet (TLS between dispatchers with the operator's CA) needs the Bun build",
  serveFetch,
  peerAddress,
  bridgeWebSocket: (_server, request, target, log, open) =>
    bridgeWebSocketDeno(globals().Deno, webSocketStream(), request, target, log, open),
  holdWebSocket: (_server, request, peer, open) => holdWebSocketDeno(globals().Deno, request, peer, open),
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
