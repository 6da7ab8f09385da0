// A request arrives: its record is made once, before any stage runs.
import type { RequestRecord } from "./context";
import { isWebSocketUpgrade } from "./forward/headers";
import { requestIdOf } from "./request-id";

/**
 * A top-level browser navigation, as opposed to an XHR, asset or WebSocket
 * sub-request. Only these may be answered with a 302: redirecting a
 * sub-resource would corrupt the page's fetch/WebSocket contract. Sec-Fetch-Dest
 * is trusted when present; Accept is the fallback for browsers without it.
 */
export function isDocumentNavigation(request: Request): boolean {
  if (request.method !== "GET") return false;
  const dest = request.headers.get("sec-fetch-dest");
  if (dest !== null && dest !== "") return dest === "document";
  return (request.headers.get("accept") ?? "").includes("text/html");
}

export function arrive(request: Request, peer: string | undefined): RequestRecord {
  return {
    id: requestIdOf(request),
    started: performance.now(),
    peer,
    url: new URL(request.url),
    html: isDocumentNavigation(request),
    upgrade: isWebSocketUpgrade(request),
  };
}
