// Bun-only: put an Elysia app on a TCP port or a Unix socket with the options a
// proxy needs, which are not Elysia's defaults.
import type { Server } from "bun";
import type { Elysia } from "elysia";
import type { ListenAddress } from "../../config/setting-values";
import { type Listening, listenUrl, type ServableApp, type ServerTls } from "../runtime";

/** Where Bun should bind: a Unix socket path, or host and port. */
const bindOptions = (listen: ListenAddress) =>
  listen.kind === "unix" ? { unix: listen.path } : { hostname: listen.hostname, port: listen.port };

/** Bun's TLS options: with a CA, a client certificate from it is required (mutual TLS). */
const tlsOptions = (tls: ServerTls) => ({
  cert: tls.cert,
  key: tls.key,
  ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
});

export function serveApp(app: ServableApp, listen: ListenAddress, tls?: ServerTls): Listening {
  const where = bindOptions(listen);
  const options = {
    ...where,
    ...(tls ? { tls: tlsOptions(tls) } : {}),
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
    url: listenUrl(listen, server.port, tls !== undefined),
    drain: () => server.stop(false),
    stop: () => server.stop(true),
  };
}

export function peerAddress(server: unknown, request: Request): string | undefined {
  return (server as Server<unknown> | null)?.requestIP(request)?.address;
}

/** A plain handler on a listener of its own. */
export function serveFetch(
  listen: ListenAddress,
  fetch: (request: Request) => Response,
): { url: string; stop(): Promise<void> } {
  const where = bindOptions(listen);
  const server = Bun.serve({ ...where, reusePort: false, fetch } as Parameters<typeof Bun.serve>[0]);
  return {
    url: listenUrl(listen, server.port),
    stop: () => server.stop(true),
  };
}
