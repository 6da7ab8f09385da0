// The benchmark's reference ceiling: a bare Bun.serve + fetch pass-through to
// the same instance with no logic at all (no identity, session, header
// rewriting, log). Measured in the same run as the dispatcher, on its core.
// Usage: bun bench/passthrough.ts <instance-url> <port-file>
import { writeFileSync } from "node:fs";

const [instance = "", portFile = ""] = process.argv.slice(2);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch(request) {
    const url = new URL(request.url);
    return fetch(instance + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      decompress: false,
    } as RequestInit);
  },
});
writeFileSync(portFile, String(server.port));
