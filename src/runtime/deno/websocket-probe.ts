// Deno: does a WebSocket to this URL open (with these headers) in time?
// Deno's WebSocketStream takes request headers; the web-standard one cannot.
import { Failure } from "../../lib/errors";
import type { Runtime } from "../runtime";
import { webSocketStream } from "./api";

/** A WebSocketStream with request headers (Deno's takes them) that opens within the timeout, closed at once. */
export const probeWebSocketDeno: Runtime["probeWebSocket"] = async (url, headers, timeoutMs) => {
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
