// Bun.serve writes a response that completes after an await (a proxied one
// always does) piece by piece once it outgrows its 16 KiB cork buffer: the
// status line, every header name, ": ", value and CRLF each go out in a send()
// of their own, some 15 TCP segments ahead of the body (oven-sh/bun#41341,
// open). A body given as a JS stream that already holds its bytes goes out with
// the headers in one sendmsg(). So a body of unknown length (chunked) is handed
// on with what has already arrived of it held, or whole if it all came and is
// small. A body of declared length streams natively, as before: Bun would
// frame a stream body as chunked and drop the length (oven-sh/bun#10507).
// Web-standard code: it only reshapes a Response.

/** A body this small leaves with its headers in one send() (room left for the headers). */
const CORKED_MAX = 12 * 1024;
/** Held per response at most before the rest is streamed on: bounds what one response holds. */
export const READY_MAX = 256 * 1024;

type Read = { done: true; value?: undefined } | { done: false; value: Uint8Array };
/** The reader side a held stream goes on with. */
interface Rest {
  reader: { read(): Promise<Read>; cancel(reason?: unknown): Promise<void> };
  pending?: Promise<Read>;
}
/** Statuses that never carry a body, whatever their headers say. */
const NO_BODY = new Set([101, 204, 205, 304]);
const NOT_HERE: unique symbol = Symbol("not here yet");

/** A stream that starts with `chunks` and goes on with the rest of `reader` (its read in flight first). */
function heldStream(chunks: Uint8Array[], rest?: Rest): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (!rest) controller.close();
    },
    async pull(controller) {
      if (!rest) return;
      const next = await (rest.pending ?? rest.reader.read());
      rest.pending = undefined;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => rest?.reader.cancel(reason),
  });
}

/**
 * What has already arrived of a body of unknown length, read without waiting
 * for more: the whole body if it all came (up to READY_MAX), else a stream
 * that starts with what was read and goes on with the rest.
 */
async function takeArrived(body: ReadableStream<Uint8Array>): Promise<Uint8Array[] | ReadableStream<Uint8Array>> {
  const reader: Rest["reader"] = body.getReader() as Rest["reader"];
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const pending = reader.read();
    // A read that has already settled wins the race; one still waiting loses it.
    const got = await Promise.race<Read | typeof NOT_HERE>([pending, NOT_HERE]);
    if (got === NOT_HERE) return heldStream(chunks, { reader, pending });
    if (got.done) return chunks;
    chunks.push(got.value);
    size += got.value.byteLength;
    if (size > READY_MAX) return heldStream(chunks, { reader });
  }
}

/**
 * `response` with the part of its body that has arrived ready to go out with
 * its headers, where that helps; else as it is. Not for the answer to a HEAD.
 * Decided on the headers first: reading `response.body` turns Bun's native
 * body into a JS stream, which would cost every response passed on as it is.
 */
export function withReadyBody(response: Response): Response | Promise<Response> {
  const { headers } = response;
  if (NO_BODY.has(response.status) || headers.has("content-length")) return response;
  // An event stream is left alone: it is Bun's to flush as it comes.
  if (headers.get("content-type")?.startsWith("text/event-stream")) return response;
  return heldArrived(response);
}

async function heldArrived(response: Response): Promise<Response> {
  if (response.body === null) return response;
  const arrived = await takeArrived(response.body);
  if (arrived instanceof ReadableStream) return new Response(arrived, response);
  const size = arrived.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  // Small and complete: as bytes, which Bun sends in one piece with their length.
  return new Response(size > CORKED_MAX ? heldStream(arrived) : new Blob(arrived), response);
}
