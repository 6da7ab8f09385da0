// HTTP forwarding to one instance. Large bodies and bodies of unknown length
// are streamed both ways; a request body of up to 256 KiB with a declared
// length is read whole first (see SMALL_BODY). Redirects are the browser's
// business, and compressed bodies pass byte-for-byte.
import { DispatchError } from "../../lib/errors";
import { stripHopByHop } from "./headers";

/** The runtime's fetch for proxying: raw body bytes, headers the caller may change. */
export type UpstreamFetch = (
  url: string,
  init: RequestInit & { headers: Headers; duplex: "half" },
) => Promise<Response>;

/**
 * Bodies up to this size, declared by Content-Length, are read whole and sent
 * as one buffer: Bun moves those natively, while a JS stream costs per chunk.
 * Anything larger, or of unknown length, is streamed (bounded memory).
 */
const SMALL_BODY = 256 * 1024;

async function bodyOf(request: Request): Promise<ArrayBuffer | ReadableStream<Uint8Array> | null> {
  if (request.body === null) return null;
  const length = Number(request.headers.get("content-length") ?? Number.NaN);
  return length >= 0 && length <= SMALL_BODY ? await request.arrayBuffer() : request.body;
}

export async function forwardHttp(
  request: Request,
  upstreamUrl: string,
  headers: Headers,
  fetchUpstream: UpstreamFetch,
  requestId?: string,
): Promise<Response | DispatchError> {
  let upstream: Response;
  try {
    upstream = await fetchUpstream(upstreamUrl, {
      method: request.method,
      headers,
      body: await bodyOf(request),
      duplex: "half",
      redirect: "manual",
      // The browser went away: stop the upstream request too.
      signal: request.signal,
    });
  } catch (error) {
    // The browser left first: nothing to answer, and not the instance's fault.
    if (request.signal.aborted) return new Response(null, { status: 499 });
    return new DispatchError(
      "upstream_down",
      `${request.method} ${new URL(upstreamUrl).pathname}: ${(error as Error).message}`,
    );
  }
  // The upstream response is passed on as it is: no copy of headers or body on the hot path.
  stripHopByHop(upstream.headers);
  if (requestId) upstream.headers.set("x-request-id", requestId);
  return upstream;
}
