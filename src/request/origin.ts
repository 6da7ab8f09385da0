// Stage: same-origin sockets and writes. t3 checks no Origin, and every
// instance shares one browser origin, so a WebSocket upgrade or a request
// that may change state (not GET/HEAD/OPTIONS) from any other origin — a
// sibling app on the same site, a user's preview server — would drive a
// person's agent with their cookies. t3's own page always sends its origin.
import { DispatchError } from "../lib/errors";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The public origin: `publicUrl` if set, else what the front forwarded
 * (X-Forwarded-Proto/-Host), else the request's own scheme and Host.
 */
function publicOrigin(request: Request, url: URL, configured: string | undefined): string {
  if (configured) return configured;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host") ?? url.host;
  const proto = request.headers.get("x-forwarded-proto") ?? url.protocol.slice(0, -1);
  return `${proto.split(",")[0]?.trim()}://${host.split(",")[0]?.trim()}`.toLowerCase();
}

/** undefined when the request may pass; cross_origin otherwise. A request without Origin is not a browser's cross-site one. */
export function checkOrigin(
  request: Request,
  url: URL,
  configured: string | undefined,
  upgrade: boolean,
): DispatchError | undefined {
  if (!upgrade && SAFE.has(request.method)) return undefined;
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  const expected = publicOrigin(request, url, configured);
  if (origin.toLowerCase() === expected) return undefined;
  return new DispatchError(
    "cross_origin",
    `${upgrade ? "WebSocket" : request.method} from ${origin}, not ${expected}`,
    {
      origin: origin.slice(0, 200),
    },
  );
}
