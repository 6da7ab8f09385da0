// Bun-only: bridge a browser WebSocket to the instance's. The upstream socket
// is opened first so its negotiated subprotocol goes back in our 101. Frames
// pass as they are (text stays text, byte-exact; binary stays binary), close
// codes cross both ways, and each side is paused while the other is
// backpressured, so frames queue rather than drop; a frame Bun still refuses on
// an open socket (send() returning 0) is logged as ws_frame_dropped.
import type { Server, ServerWebSocket } from "bun";
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

/** Bun routes a socket's events to the handlers in its `data` (Elysia's global handler does). */
interface BridgeHandlers {
  open(ws: ServerWebSocket<BridgeHandlers>): void;
  message(ws: ServerWebSocket<BridgeHandlers>, message: string | Buffer): void;
  drain(ws: ServerWebSocket<BridgeHandlers>): void;
  close(ws: ServerWebSocket<BridgeHandlers>, code: number, reason: string): void;
}

/** Passes a close on; when the other side vanished (1006), so does this one. */
const closeWith = (
  socket: { close(code?: number, reason?: string): void; terminate(): void },
  code: number,
  reason: string,
) => passOnClose(socket, code, reason, () => socket.terminate());

function connectUpstream(target: WebSocketTarget): Promise<WebSocket | DispatchError> {
  const refused = (reason: string) =>
    new DispatchError("upstream_down", `WebSocket ${new URL(target.url).pathname}: ${reason}`);
  return new Promise((resolve) => {
    const socket = new WebSocket(target.url, {
      headers: Object.fromEntries(target.headers),
      protocols: target.protocols,
      ...(target.tls ? { tls: target.tls } : {}),
    });
    socket.binaryType = "arraybuffer";
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(refused(`no answer within ${target.connectTimeoutMs} ms`));
    }, target.connectTimeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      // Hold the instance's frames until the browser side is open.
      socket.pause();
      resolve(socket);
    });
    socket.addEventListener("error", (event) => {
      clearTimeout(timer);
      resolve(refused((event as ErrorEvent).message || "upgrade refused"));
    });
  });
}

/** While the instance is backpressured the browser is paused; it resumes once the queue is half drained. */
function resumeWhenDrained(upstream: WebSocket, ws: ServerWebSocket<BridgeHandlers>): void {
  const poll = setInterval(() => {
    if (upstream.bufferedAmount < BRIDGE_HIGH_WATER / 2 || upstream.readyState !== WebSocket.OPEN) {
      clearInterval(poll);
      ws.resume();
    }
  }, BRIDGE_DRAIN_POLL_MS);
}

/** The bridge's two directions on an open instance socket: the browser socket's handlers. */
function bridgeHandlers(upstream: WebSocket, target: WebSocketTarget, log: Logger, open: OpenSockets): BridgeHandlers {
  const { url, onClientFrame } = target;
  let client: ServerWebSocket<BridgeHandlers> | undefined;
  const early: Array<string | ArrayBuffer> = [];
  let upstreamClosed: { code: number; reason: string } | undefined;

  const toClient = (data: string | ArrayBuffer): void => {
    if (!client) {
      early.push(data);
      return;
    }
    const status = client.send(data);
    // -1: queued under backpressure; stop reading the instance until drain.
    if (status === -1) upstream.pause();
    else if (status === 0 && client.readyState === 1) log.log("error", "ws_frame_dropped", { url });
  };
  upstream.addEventListener("message", (event) => toClient(event.data as string | ArrayBuffer));
  upstream.addEventListener("close", (event) => {
    upstreamClosed = { code: event.code, reason: event.reason };
    if (client) closeWith(client, event.code, event.reason);
  });

  return {
    open(ws) {
      client = ws;
      open.add(ws);
      for (const data of early.splice(0)) toClient(data);
      if (upstreamClosed) closeWith(ws, upstreamClosed.code, upstreamClosed.reason);
      else upstream.resume();
    },
    message(ws, message) {
      onClientFrame(message);
      upstream.send(message);
      if (upstream.bufferedAmount > BRIDGE_HIGH_WATER) {
        ws.pause();
        resumeWhenDrained(upstream, ws);
      }
    },
    drain() {
      upstream.resume();
    },
    close(ws, code, reason) {
      open.delete(ws);
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) {
        closeWith(upstream, code, reason);
      }
    },
  };
}

/** Upgrades `request` and bridges it; undefined when the upgrade happened, else a typed error. */
export async function bridgeWebSocket(
  server: Server<unknown>,
  request: Request,
  target: WebSocketTarget,
  log: Logger,
  open: OpenSockets = new Set(),
): Promise<DispatchError | undefined> {
  const upstream = await connectUpstream(target);
  if (upstream instanceof DispatchError) return upstream;
  const failed = upgrade(server, request, upstream.protocol, bridgeHandlers(upstream, target, log, open));
  if (failed) upstream.close(1011, "client upgrade failed");
  return failed;
}

/** Upgrades the browser's socket with `handlers` (and the subprotocol, if any); undefined when it happened. */
function upgrade(
  server: Server<unknown>,
  request: Request,
  protocol: string | undefined,
  handlers: BridgeHandlers,
): DispatchError | undefined {
  const upgraded = server.upgrade(request, {
    headers: protocol ? { "sec-websocket-protocol": protocol } : undefined,
    data: handlers,
  });
  return upgraded
    ? undefined
    : new DispatchError("upstream_down", "the browser's WebSocket upgrade could not be completed");
}

/** Upgrades `request` with the dispatcher as the peer (no instance behind it); undefined when it happened. */
export function holdWebSocket(
  server: Server<unknown>,
  request: Request,
  peer: SocketPeer,
  open: OpenSockets,
): DispatchError | undefined {
  const handlers: BridgeHandlers = {
    open(ws) {
      open.add(ws);
      peer.opened({ send: (text) => void ws.send(text), close: (code, reason) => ws.close(code, reason) });
    },
    message: (_ws, message) => peer.message(message),
    drain() {},
    close(ws) {
      open.delete(ws);
      peer.closed();
    },
  };
  return upgrade(server, request, firstProtocol(request), handlers);
}
