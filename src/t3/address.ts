// The one place an instance's address is made: every instance listens on the
// same host (upstreamHost), on the port the dispatch table gives it.

/** The instance's HTTP base URL (no trailing slash), or its WebSocket URL for `path`. */
export function instanceUrl(host: string, port: number, path = "", scheme: "http" | "ws" = "http"): string {
  return `${scheme}://${host}:${port}${path}`;
}
