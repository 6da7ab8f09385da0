// Bun: does a WebSocket to this URL open (with these headers) in time? Bun's
// WebSocket takes request headers; the web-standard one cannot.
import { Failure } from "../../lib/errors";
import type { Runtime } from "../runtime";

export const probeWebSocketBun: Runtime["probeWebSocket"] = (url, headers, timeoutMs) =>
  new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(new Failure("websocket_refused", `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      resolve({ protocol: socket.protocol });
      socket.close(1000, "health check");
    });
    socket.addEventListener("error", (event) => {
      clearTimeout(timer);
      resolve(new Failure("websocket_refused", (event as ErrorEvent).message || "upgrade refused"));
    });
  });
