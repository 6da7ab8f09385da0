// Deno: serve the app (Elysia's web-standard fetch) or a plain handler with
// Deno.serve on a TCP port or a Unix socket; the peer address of each request.
import type { ListenAddress } from "../../config/setting-values";
import { type Listening, listenUrl, type Runtime, type ServableApp } from "../runtime";
import { type DenoHttpServer, globals, webSocketStream } from "./api";

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

export function serveApp(app: ServableApp, listen: ListenAddress): Listening {
  webSocketStream(); // refuse to start rather than fail the first WebSocket
  const { server, port, url } = listenOn(listen, (request) => app.fetch(request));
  return {
    port,
    url,
    drain: () => server.shutdown(),
    // Deno.serve has no forced close: stop accepting; the process exits after this.
    stop: async () => void server.shutdown(),
  };
}

export const serveFetch: Runtime["serveFetch"] = (listen, fetch) => {
  const { server, url } = listenOn(listen, fetch);
  return { url, stop: () => server.shutdown() };
};

export const peerAddress: Runtime["peerAddress"] = (_server, request) => peers.get(request);
