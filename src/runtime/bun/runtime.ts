// The Bun runtime: Elysia's own Bun adapter serves (server.upgrade for
// WebSockets), Bun.spawn runs children, node:process signals, node:fs watch.
import { watch } from "node:fs";
import { type ChildIO, commandRunner, type Spawned } from "../command";
import type { Runtime } from "../runtime";
import { withReadyBody } from "./ready-body";
import { peerAddress, serveApp, serveFetch } from "./serve";
import { bridgeWebSocket, holdWebSocket } from "./websocket-bridge";
import { probeWebSocketBun } from "./websocket-probe";

function spawnBun(argv: string[], io: ChildIO): Spawned {
  const child = Bun.spawn(argv, {
    stdin: io.stdin ?? "ignore",
    stdout: io.stdout ?? "pipe",
    stderr: "pipe",
    env: io.env,
  });
  return {
    stdout: typeof child.stdout === "number" || child.stdout === undefined ? undefined : child.stdout,
    stderr: child.stderr,
    exited: child.exited,
    kill: (signal) => child.kill(signal),
  };
}

/** Bun's fetch extensions for a proxy. */
interface BunProxyInit extends RequestInit {
  /** Bun decompresses by default but keeps content-encoding: the body would be corrupt. */
  decompress: false;
  /** Bun's 5-minute idle timer would cut quiet SSE streams and long polls. */
  timeout: false;
}

export const bunRuntime: Runtime = {
  name: "bun",
  serveApp,
  fleetUnsupported: undefined,
  serveFetch,
  peerAddress,
  bridgeWebSocket: (server, request, target, log, open) =>
    bridgeWebSocket(server as Parameters<typeof bridgeWebSocket>[0], request, target, log, open),
  holdWebSocket: (server, request, peer, open) =>
    holdWebSocket(server as Parameters<typeof holdWebSocket>[0], request, peer, open),
  // Bun's fetch gives the response mutable headers; a body of unknown length
  // is made ready to leave with them (ready-body.ts). A `tls` in init (another
  // host's dispatcher) is Bun's own fetch option.
  fetchUpstream: (url, init) =>
    fetch(url, { ...init, decompress: false, timeout: false } as BunProxyInit).then((response) =>
      init.method === "HEAD" ? response : withReadyBody(response),
    ),
  runCommand: commandRunner(spawnBun),
  probeWebSocket: probeWebSocketBun,
  onSignal: (signal, handler) => void process.on(signal, handler),
  watchDirectory(dir, onEvent, onError) {
    try {
      const watcher = watch(dir, (_event, name) => onEvent(name));
      // Without a listener an error event (the directory removed, say) would crash the process.
      watcher.on("error", onError);
      watcher.unref?.();
      return watcher;
    } catch {
      // No watch support here: the poll (and SIGHUP) still reload.
      return { close() {} };
    }
  },
};
