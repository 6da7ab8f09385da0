// Bun-only: put an Elysia app on a TCP port or a Unix socket with the options a
// proxy needs, which are not Elysia's defaults.
import type { Server } from "bun";
import type { Elysia } from "elysia";
import type { ListenAddress } from "../config/settings";

/** Where Bun should bind: a Unix socket path, or host and port. */
const bindOptions = (listen: ListenAddress) =>
  listen.kind === "unix" ? { unix: listen.path } : { hostname: listen.hostname, port: listen.port };

export interface Listening {
  /** The bound port (useful with port 0), or undefined on a Unix socket. */
  port: number | undefined;
  url: string;
  /** Stops accepting; resolves when every in-flight request and socket is done. */
  drain(): Promise<void>;
  /** Stops at once, cutting what is in flight. */
  stop(): Promise<void>;
}

/** The part of an Elysia app this module uses, whatever its routes' types. */
interface ServableApp {
  listen(options: Parameters<Elysia["listen"]>[0]): unknown;
  server: Server<unknown> | null;
}

export function serveApp(app: ServableApp, listen: ListenAddress): Listening {
  const where = bindOptions(listen);
  const options = {
    ...where,
    // Quiet SSE streams and long polls must not be cut (Elysia sets 30 s).
    idleTimeout: 0,
    // Two dispatchers silently sharing a port would be a deployment bug.
    reusePort: false,
    // Uploads are streamed, never buffered: Bun's 128 MiB cap would 413 them.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    development: false,
    websocket: {
      // The bridge pauses well before this; it only bounds a misbehaving peer.
      backpressureLimit: 32 * 1024 * 1024,
      maxPayloadLength: 16 * 1024 * 1024,
      idleTimeout: 0,
      perMessageDeflate: false,
    },
  };
  // Bun's types split TCP and Unix options; these apply to both at run time.
  app.listen(options as Parameters<Elysia["listen"]>[0]);
  const server = app.server as Server<unknown>;
  return {
    port: listen.kind === "tcp" ? server.port : undefined,
    url: listen.kind === "tcp" ? `http://${listen.hostname}:${server.port}` : `unix:${listen.path}`,
    drain: () => server.stop(false),
    stop: () => server.stop(true),
  };
}

export function peerAddress(server: unknown, request: Request): string | undefined {
  return (server as Server<unknown> | null)?.requestIP(request)?.address;
}

/** The Prometheus endpoint on its own listener (GET /metrics), away from the proxied traffic. */
export function serveMetrics(listen: ListenAddress, render: () => string): { url: string; stop(): Promise<void> } {
  const where = bindOptions(listen);
  const server = Bun.serve({
    ...where,
    reusePort: false,
    fetch: (request) =>
      new URL(request.url).pathname === "/metrics"
        ? new Response(render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } })
        : new Response("not found\n", { status: 404 }),
  } as Parameters<typeof Bun.serve>[0]);
  return {
    url: listen.kind === "tcp" ? `http://${listen.hostname}:${server.port}` : `unix:${listen.path}`,
    stop: () => server.stop(true),
  };
}
