// Bun-only: does a WebSocket to this URL open (with these headers) in time?
// Bun's WebSocket takes request headers; the web-standard one cannot.

/** Undefined when the socket opened (it is closed again at once), else why not. */
export function probeWebSocket(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(`no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      socket.close(1000, "health check");
      resolve(undefined);
    });
    socket.addEventListener("error", (event) => {
      clearTimeout(timer);
      resolve((event as ErrorEvent).message || "upgrade refused");
    });
  });
}
