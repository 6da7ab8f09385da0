// The boundary between the shared dispatcher and the runtime it runs on. Each
// runtime implements it once, in bun/ and deno/ with the same file names on
// each side; everything else (identity, pairing, session, proxy decisions,
// config) is runtime-neutral and shared.
import type { Elysia } from "elysia";
import type { ListenAddress } from "../config/setting-values";
import type { DispatchError, Failure } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { CommandRunner } from "./command";

export interface Listening {
  /** The bound port (useful with port 0), or undefined on a Unix socket. */
  port: number | undefined;
  url: string;
  /** Stops accepting; resolves when every in-flight request is done. */
  drain(): Promise<void>;
  /** Stops at once (as far as the runtime allows), cutting what is in flight. */
  stop(): Promise<void>;
}

/** The part of an Elysia app a runtime serves, whatever its routes' types. */
export interface ServableApp {
  fetch(request: Request): Response | Promise<Response>;
  listen(options: Parameters<Elysia["listen"]>[0]): unknown;
  server: unknown;
}

/** How a bound listener is named in logs: its URL, or `unix:<path>`. */
export const listenUrl = (listen: ListenAddress, port: number | undefined, tls = false): string =>
  listen.kind === "tcp" ? `http${tls ? "s" : ""}://${listen.hostname}:${port}` : `unix:${listen.path}`;

/** How a dispatcher reaches another host's dispatcher: the operator's CA, and its own certificate for mutual TLS. */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** The fleet listener's TLS: its certificate, and with `ca` a client certificate from that CA is required. */
export interface ServerTls {
  cert: string;
  key: string;
  ca?: string;
}

export interface WebSocketTarget {
  url: string;
  /** A wss: target's TLS (another host's dispatcher). */
  tls?: ClientTls;
  headers: Headers;
  protocols: string[];
  connectTimeoutMs: number;
  /** Called with every frame from the browser (what the instance sends is never a person). */
  onClientFrame(frame: string | ArrayBuffer | Uint8Array): void;
}

/** The dispatcher as a browser socket's peer: told when it opens (with how to answer), of each frame, of its close. */
export interface SocketPeer {
  opened(socket: { send(text: string): void; close(code: number, reason: string): void }): void;
  message(frame: string | ArrayBuffer | Uint8Array): void;
  closed(): void;
}

/** The subprotocol a held socket agrees to: the browser's first, as an instance would (a browser fails one it did not offer). */
export const firstProtocol = (request: Request): string | undefined =>
  request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim() || undefined;

/** A WebSocket that opened (and was closed again at once): the subprotocol the instance chose. */
export interface WebSocketOpened {
  protocol: string;
}

/** The bridged browser sockets that are open, so a shutdown can close them (1001). */
export type OpenSockets = Set<{ close(code?: number, reason?: string): void }>;

export type Signal = "SIGTERM" | "SIGINT" | "SIGHUP";

export interface Runtime {
  readonly name: "bun" | "deno";
  /** Serves the app, WebSocket upgrades included; over TLS when given (the fleet listener). */
  serveApp(app: ServableApp, listen: ListenAddress, tls?: ServerTls): Listening;
  /** Why this runtime cannot serve or reach a fleet (TLS with the operator's CA), or undefined. */
  readonly fleetUnsupported: string | undefined;
  /** A plain handler on a listener of its own (the metrics endpoint). */
  serveFetch(listen: ListenAddress, fetch: (request: Request) => Response): { url: string; stop(): Promise<void> };
  /** The peer address of a request served by serveApp (undefined on a Unix socket). */
  peerAddress(server: unknown, request: Request): string | undefined;
  /**
   * Opens the instance's socket, then upgrades the browser's and bridges the
   * two. Resolves to the response that completes the upgrade (undefined when
   * the runtime's server sends it itself) or to a typed error.
   */
  bridgeWebSocket(
    server: unknown,
    request: Request,
    target: WebSocketTarget,
    log: Logger,
    open: OpenSockets,
  ): Promise<Response | DispatchError | undefined>;
  /**
   * Upgrades the browser's socket with the dispatcher itself at the other end
   * (no instance behind it). Resolves like bridgeWebSocket.
   */
  holdWebSocket(
    server: unknown,
    request: Request,
    peer: SocketPeer,
    open: OpenSockets,
  ): Response | DispatchError | undefined;
  /** fetch for proxying: the body exactly as the instance sent it, and headers the caller may change. */
  fetchUpstream(url: string, init: RequestInit & { headers: Headers; tls?: ClientTls }): Promise<Response>;
  /** Runs argv (no shell) to its end or the timeout: stdin closed and stdout/stderr captured unless `io` says otherwise. */
  runCommand: CommandRunner;
  /** Does a WebSocket to `url`, with these request headers, open within the timeout? (the health check) */
  probeWebSocket(
    url: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<WebSocketOpened | Failure<"websocket_refused">>;
  onSignal(signal: Signal, handler: () => void): void;
  /**
   * Calls back with the entry name (or null) on every change in `dir`, and
   * with the error once if the watch breaks (the poll and SIGHUP still reload).
   */
  watchDirectory(
    dir: string,
    onEvent: (name: string | null) => void,
    onError: (error: Error) => void,
  ): { close(): void };
}

/** A bridge stops reading one side while this much is queued towards the other. */
export const BRIDGE_HIGH_WATER = 1024 * 1024;
/** How often a paused bridge looks whether the queue has drained. */
export const BRIDGE_DRAIN_POLL_MS = 5;

/** Close codes a peer may put on the wire (RFC 6455 §7.4); 1005/1006/1015 are local-only. */
const sendable = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);

/**
 * Closes `socket` the way its peer's socket closed: with the same code and
 * reason when that can go on the wire, without a code for 1005, and with
 * `vanished` for 1006 and the like (the other side disappeared).
 */
export function passOnClose(
  socket: { close(code?: number, reason?: string): void },
  code: number,
  reason: string,
  vanished: () => void,
): void {
  if (sendable(code)) socket.close(code, reason);
  else if (code === 1005) socket.close();
  else vanished();
}
