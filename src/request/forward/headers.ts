// Header rewriting for a reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers
// are the connection's, not the message's, so they never cross the proxy.

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Removes the hop-by-hop headers, including any the Connection header names. */
export function stripHopByHop(headers: Headers): Headers {
  const listed = headers.get("connection");
  if (listed) for (const name of listed.split(",")) headers.delete(name.trim());
  // One pass over the few headers present, rather than a delete per hop-by-hop name.
  const found: string[] = [];
  for (const name of headers.keys()) if (HOP_BY_HOP.has(name)) found.push(name);
  for (const name of found) headers.delete(name);
  return headers;
}

export interface ForwardContext {
  /** The address the request came from (the front proxy), if known. */
  clientAddress: string | undefined;
  /** Headers whose name starts with one of these never reach the instance (x-authentik-). */
  dropPrefixes: readonly string[];
  requestId?: string;
  /** The scheme the request arrived with, for X-Forwarded-Proto when the front proxy did not set it. */
  protocol?: string;
}

/** The headers to send upstream for `request`: X-Forwarded-* set, Host left to fetch. */
export function upstreamRequestHeaders(request: Request, context: ForwardContext): Headers {
  const headers = stripHopByHop(new Headers(request.headers));
  const host = headers.get("host");
  headers.delete("host");
  if (context.dropPrefixes.length > 0) {
    const dropped: string[] = [];
    for (const name of headers.keys()) {
      if (context.dropPrefixes.some((prefix) => name.startsWith(prefix))) dropped.push(name);
    }
    for (const name of dropped) headers.delete(name);
  }
  if (context.requestId) headers.set("x-request-id", context.requestId);
  if (context.clientAddress) {
    const prior = headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior ? `${prior}, ${context.clientAddress}` : context.clientAddress);
  }
  // The front proxy's values win: it knows the public host and scheme.
  if (!headers.has("x-forwarded-host") && host) headers.set("x-forwarded-host", host);
  if (!headers.has("x-forwarded-proto")) {
    headers.set("x-forwarded-proto", (context.protocol ?? new URL(request.url).protocol).slice(0, -1));
  }
  return headers;
}

export const isWebSocketUpgrade = (request: Request): boolean =>
  request.headers.get("upgrade")?.toLowerCase() === "websocket";

/**
 * The subprotocols the browser offered. Removes the handshake headers from
 * `headers`: the upstream WebSocket client negotiates its own.
 */
export function takeWebSocketHandshake(request: Request, headers: Headers): string[] {
  for (const name of [...headers.keys()]) if (name.startsWith("sec-websocket-")) headers.delete(name);
  return (request.headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}
