// The fake instance's stateless probes under /__fake/: HTTP shapes the proxy
// tests need (headers echoed, SSE, gzip, sized and chunked bodies, uploads,
// hostile Set-Cookie lines, a body cut short, a redirect, hop-by-hop headers).
import { createHash } from "node:crypto";

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

type Probe = (request: Request, url: URL) => Response | Promise<Response>;

const ofSize = (url: URL): number => Number(url.searchParams.get("n") ?? 0);
const streamOf = (start: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void>) =>
  new ReadableStream<Uint8Array>({ start });

/** Two events with a pause between them, as a quiet SSE stream. */
const sse: Probe = (_request, url) => {
  const gapMs = Number(url.searchParams.get("gapMs") ?? 0);
  const stream = streamOf(async (controller) => {
    controller.enqueue(new TextEncoder().encode("data: first\n\n"));
    await Bun.sleep(gapMs);
    controller.enqueue(new TextEncoder().encode("data: second\n\n"));
    controller.close();
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
};

/** No declared length: three chunks, each filled with its own number. */
const chunked: Probe = (_request, url) => {
  const parts = [1, 2, 3].map((fill) => new Uint8Array(ofSize(url)).fill(fill));
  const stream = new ReadableStream({
    pull(controller) {
      const part = parts.shift();
      if (part) controller.enqueue(part);
      else controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
};

/** What arrived: its size and SHA-256. */
const upload: Probe = async (request) => {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of request.body ?? []) {
    bytes += chunk.byteLength;
    hash.update(chunk);
  }
  return json({ bytes, sha256: hash.digest("hex") });
};

/** Answers as soon as the first chunk arrives: only a streaming proxy gets this far. */
const firstChunk: Probe = async (request) => {
  const first = await request.body?.getReader().read();
  return new Response(first?.value ?? new Uint8Array());
};

/** Sets whatever it is asked to: a hostile instance's Set-Cookie lines. */
const setCookie: Probe = (_request, url) => {
  const headers = new Headers();
  for (const line of url.searchParams.getAll("c")) headers.append("set-cookie", line);
  return new Response("set\n", { headers });
};

const twoCookies: Probe = () => {
  const headers = new Headers();
  headers.append("set-cookie", "a=1; Path=/");
  headers.append("set-cookie", "b=2, with comma; Path=/; HttpOnly");
  return new Response("two cookies\n", { headers });
};

/** Promises 1000 bytes, sends 7, and ends: the connection dies mid-body. */
const reset: Probe = () => {
  const stream = streamOf(async (controller) => {
    controller.enqueue(new TextEncoder().encode("partial"));
    await Bun.sleep(50);
    controller.close();
  });
  return new Response(stream, { headers: { "content-length": "1000" } });
};

const PROBES: Record<string, Probe> = {
  "/__fake/headers": (request) => json(Object.fromEntries(request.headers)),
  "/__fake/method": (request, url) =>
    new Response(`${request.method} ${url.search}`, { headers: { "x-method": request.method } }),
  "/__fake/sse": sse,
  "/__fake/gzip": () =>
    new Response(Bun.gzipSync(new TextEncoder().encode("compressed hello ".repeat(200))), {
      headers: { "content-type": "text/plain", "content-encoding": "gzip" },
    }),
  "/__fake/bytes": (_request, url) =>
    new Response(new Uint8Array(ofSize(url)).fill(120), { headers: { "content-type": "application/octet-stream" } }),
  "/__fake/chunked": chunked,
  "/__fake/upload": upload,
  "/__fake/first-chunk": firstChunk,
  "/__fake/set-cookie": setCookie,
  "/__fake/cookies": twoCookies,
  "/__fake/reset": reset,
  "/__fake/redirect": () => new Response(null, { status: 302, headers: { location: "/elsewhere" } }),
  "/__fake/hop": () =>
    new Response("hop\n", { headers: { connection: "x-private", "x-private": "secret", "keep-alive": "timeout=5" } }),
};

export function probeRoute(request: Request, url: URL): Response | Promise<Response> {
  const probe = Object.hasOwn(PROBES, url.pathname) ? PROBES[url.pathname] : undefined;
  return probe ? probe(request, url) : new Response(null, { status: 404 });
}
