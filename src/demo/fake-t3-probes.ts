// The fake instance's stateless probes under /__fake/: HTTP shapes the proxy
// tests need (headers echoed, SSE, gzip, sized and chunked bodies, uploads,
// hostile Set-Cookie lines, a body cut short, a redirect, hop-by-hop headers),
// and what its own process sees of its sandbox.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";

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

/** What the instance's own process sees of its sandbox (the host suite reads the unit's hardening from inside). */
function sandbox(): Response {
  const uid = process.getuid?.();
  const pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  const others = pids.filter((pid) => {
    try {
      return statSync(`/proc/${pid}`).uid !== uid;
    } catch {
      return false; // gone meanwhile
    }
  });
  let usrWrite = "written";
  try {
    writeFileSync("/usr/.t3d-sandbox-probe", "");
    unlinkSync("/usr/.t3d-sandbox-probe");
  } catch (error) {
    usrWrite = (error as NodeJS.ErrnoException).code ?? "failed";
  }
  const tmp = statSync("/tmp");
  const status = readFileSync("/proc/self/status", "utf8");
  // What t3's agents and terminals do: run a shell, sandbox a tool in a user namespace, list interfaces (netlink).
  const shell = Bun.spawnSync(["sh", "-c", "echo ok"]).stdout.toString().trim();
  const userNamespace = Bun.spawnSync(["unshare", "--user", "--map-root-user", "true"]).exitCode;
  return json({
    shell,
    userNamespace,
    interfaces: Object.keys(networkInterfaces()).length,
    uid,
    othersVisible: others.length,
    usrWrite,
    tmp: `${tmp.dev}:${tmp.ino}`,
    noNewPrivs: /^NoNewPrivs:\s+(\d)/m.exec(status)?.[1],
    cgroup: readFileSync("/proc/self/cgroup", "utf8").trim(),
  });
}

const PROBES: Record<string, Probe> = {
  "/__fake/sandbox": sandbox,
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
