// Deno: bridge a browser WebSocket to the instance's, with the Bun bridge's
// guarantees. The instance's socket is a WebSocketStream, opened first so its
// negotiated subprotocol goes back in our 101; its frames are read only while
// the browser's send buffer is below the high-water mark, so a slow browser
// holds the instance back instead of filling memory. Text stays text
// (byte-exact), binary stays binary, close codes cross both ways.
//
// Deno's server socket cannot stop reading the browser, so frames towards the
// instance queue in the stream's writer; past QUEUE_LIMIT (the send buffer Bun
// allows) the browser is closed with 1013 (try again later) rather than
// letting one socket take unbounded memory.
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import {
  BRIDGE_DRAIN_POLL_MS,
  BRIDGE_HIGH_WATER,
  firstProtocol,
  type OpenSockets,
  passOnClose,
  type SocketPeer,
  type WebSocketTarget,
} from "../runtime";
import type { DenoApi, WebSocketStreamConstructor } from "./api";

const QUEUE_LIMIT = 32 * 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deno's client sockets may only send 1000 and 3000–4999; other codes cross as 1000 with their reason. */
const clientCloseInfo = (code: number, reason: string) =>
  code === 1000 || (code >= 3000 && code <= 4999) ? { closeCode: code, reason } : { closeCode: 1000, reason };

type Upstream = InstanceType<WebSocketStreamConstructor>;
type Connection = Awaited<Upstream["opened"]>;
type Client = ReturnType<DenoApi["upgradeWebSocket"]>["socket"];

/** The instance's socket, open within the timeout, or why not. */
async function openUpstream(WebSocketStream: WebSocketStreamConstructor, target: WebSocketTarget) {
  const opening = new AbortController();
  const timer = setTimeout(() => opening.abort(), target.connectTimeoutMs);
  const upstream = new WebSocketStream(target.url, {
    protocols: target.protocols,
    headers: target.headers,
    signal: opening.signal,
  });
  // A failed open rejects `closed` too; the failure is reported once, below.
  upstream.closed.catch(() => undefined);
  try {
    return { upstream, connection: await upstream.opened };
  } catch (error) {
    const reason = opening.signal.aborted ? `no answer within ${target.connectTimeoutMs} ms` : (error as Error).message;
    return new DispatchError("upstream_down", `WebSocket ${new URL(target.url).pathname}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Instance → browser, read only while the browser's send buffer is below the high-water mark; then its close. */
async function pumpToClient(client: Client, upstream: Upstream, connection: Connection) {
  const reader = connection.readable.getReader();
  for (;;) {
    while (client.bufferedAmount > BRIDGE_HIGH_WATER && client.readyState === WebSocket.OPEN) {
      await sleep(BRIDGE_DRAIN_POLL_MS);
    }
    const next = await reader.read().catch(() => ({ done: true, value: undefined }) as const);
    if (next.done || client.readyState !== WebSocket.OPEN) break;
    client.send(next.value);
  }
  const info = await upstream.closed.catch(() => undefined);
  if (client.readyState !== WebSocket.OPEN) return;
  // Deno cannot drop a socket without a close frame: a vanished instance is a 1011.
  passOnClose(client, info?.closeCode ?? 1006, info?.reason ?? "", () =>
    client.close(1011, "the instance's connection was lost"),
  );
}

/** Browser → instance through the stream's writer, bounded by QUEUE_LIMIT; the browser's close after its last frame. */
function pumpToUpstream(
  client: Client,
  upstream: Upstream,
  connection: Connection,
  target: WebSocketTarget,
  log: Logger,
) {
  const writer = connection.writable.getWriter();
  let queued = 0;
  let lastWrite: Promise<unknown> = Promise.resolve();
  client.addEventListener("message", (event) => {
    const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer);
    target.onClientFrame(data);
    const size = typeof data === "string" ? data.length : data.byteLength;
    queued += size;
    if (queued > QUEUE_LIMIT) {
      log.log("warn", "ws_queue_limit", { url: target.url, queued });
      client.close(1013, "the instance is not reading");
      return;
    }
    lastWrite = writer.write(data).then(
      () => {
        queued -= size;
      },
      () => undefined,
    );
  });
  // After the frames already written, so none is lost to the close.
  client.addEventListener("close", (event) => {
    void lastWrite.then(() => upstream.close(clientCloseInfo(event.code, event.reason)));
  });
}

/** Upgrades the browser's socket (with the subprotocol, if any), or why it could not be. */
function upgrade(
  deno: DenoApi,
  request: Request,
  protocol: string | undefined,
): ReturnType<DenoApi["upgradeWebSocket"]> | DispatchError {
  try {
    return deno.upgradeWebSocket(request, { protocol, idleTimeout: 0 });
  } catch (error) {
    return new DispatchError("upstream_down", `the browser's WebSocket upgrade failed: ${(error as Error).message}`);
  }
}

export async function bridgeWebSocketDeno(
  deno: DenoApi,
  WebSocketStream: WebSocketStreamConstructor,
  request: Request,
  target: WebSocketTarget,
  log: Logger,
  open: OpenSockets,
): Promise<Response | DispatchError> {
  const opened = await openUpstream(WebSocketStream, target);
  if (opened instanceof DispatchError) return opened;
  const { upstream, connection } = opened;
  // Deno refuses a protocol the browser did not offer; the instance picked from the browser's list.
  const upgraded = upgrade(deno, request, connection.protocol || undefined);
  if (upgraded instanceof DispatchError) {
    upstream.close({ closeCode: 1000, reason: "client upgrade failed" });
    return upgraded;
  }
  const { socket: client, response } = upgraded;
  client.binaryType = "arraybuffer";
  client.addEventListener("open", () => {
    open.add(client);
    void pumpToClient(client, upstream, connection);
  });
  pumpToUpstream(client, upstream, connection, target, log);
  client.addEventListener("close", () => open.delete(client));
  return response;
}

/** Upgrades `request` with the dispatcher as the peer (no instance behind it): the 101, or why not. */
export function holdWebSocketDeno(
  deno: DenoApi,
  request: Request,
  peer: SocketPeer,
  open: OpenSockets,
): Response | DispatchError {
  const upgraded = upgrade(deno, request, firstProtocol(request));
  if (upgraded instanceof DispatchError) return upgraded;
  const { socket, response } = upgraded;
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    open.add(socket);
    peer.opened({ send: (text) => socket.send(text), close: (code, reason) => socket.close(code, reason) });
  });
  socket.addEventListener("message", (event) =>
    peer.message(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer)),
  );
  socket.addEventListener("close", () => {
    open.delete(socket);
    peer.closed();
  });
  return response;
}
