// The fake instance's stateless probes under /__fake/: HTTP shapes the proxy
// tests need (headers echoed, SSE, gzip, sized and chunked bodies, uploads,
// hostile Set-Cookie lines, a body cut short, a redirect, hop-by-hop headers).
import { createHash } from "node:crypto";

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

export async function probeRoute(request: Request, url: URL): Promise<Response> {
  switch (url.pathname) {
    case "/__fake/headers":
      return json(Object.fromEntries(request.headers));
    case "/__fake/method":
      return new Response(`${request.method} ${url.search}`, { headers: { "x-method": request.method } });
    case "/__fake/sse": {
      const gapMs = Number(url.searchParams.get("gapMs") ?? 0);
      const stream = new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
          await Bun.sleep(gapMs);
          controller.enqueue(new TextEncoder().encode("data: second\n\n"));
          controller.close();
        },
      });
      return new Response(stream, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
        },
      });
    }
    case "/__fake/gzip":
      return new Response(Bun.gzipSync(new TextEncoder().encode("compressed hello ".repeat(200))), {
        headers: {
          "content-type": "text/plain",
          "content-encoding": "gzip",
        },
      });
    case "/__fake/bytes": {
      const size = Number(url.searchParams.get("n") ?? 0);
      return new Response(new Uint8Array(size).fill(120), {
        headers: { "content-type": "application/octet-stream" },
      });
    }
    case "/__fake/chunked": {
      // No declared length: three chunks, each filled with its own number.
      const size = Number(url.searchParams.get("n") ?? 0);
      const parts = [1, 2, 3].map((fill) => new Uint8Array(size).fill(fill));
      return new Response(
        new ReadableStream({
          pull(controller) {
            const part = parts.shift();
            if (part) controller.enqueue(part);
            else controller.close();
          },
        }),
        { headers: { "content-type": "application/octet-stream" } },
      );
    }
    case "/__fake/upload": {
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of request.body ?? []) {
        bytes += chunk.byteLength;
        hash.update(chunk);
      }
      return json({ bytes, sha256: hash.digest("hex") });
    }
    case "/__fake/first-chunk": {
      // Answers as soon as the first chunk arrives: only a streaming proxy gets this far.
      const reader = request.body?.getReader();
      const first = await reader?.read();
      return new Response(first?.value ?? new Uint8Array());
    }
    case "/__fake/set-cookie": {
      // Sets whatever it is asked to: a hostile instance's Set-Cookie lines.
      const headers = new Headers();
      for (const line of url.searchParams.getAll("c")) headers.append("set-cookie", line);
      return new Response("set\n", { headers });
    }
    case "/__fake/cookies": {
      const headers = new Headers();
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2, with comma; Path=/; HttpOnly");
      return new Response("two cookies\n", { headers });
    }
    case "/__fake/reset": {
      // Promises 1000 bytes, sends 7, and ends: the connection dies mid-body.
      const stream = new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("partial"));
          await Bun.sleep(50);
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-length": "1000" } });
    }
    case "/__fake/redirect":
      return new Response(null, {
        status: 302,
        headers: { location: "/elsewhere" },
      });
    case "/__fake/hop":
      return new Response("hop\n", {
        headers: {
          connection: "x-private",
          "x-private": "secret",
          "keep-alive": "timeout=5",
        },
      });
    default:
      return new Response(null, { status: 404 });
  }
}
