// The benchmark's fake t3 instance: as fast as Bun serves, so it is never the
// bottleneck. It speaks just enough of the contract (pairing, session check,
// WebSocket echo) and counts the TCP connections it accepts (by client port).
// Usage: bun bench/upstream.ts <port-file>
import type { ServerWebSocket } from "bun";

const small = new Uint8Array(2048).fill(97);
const big = new Uint8Array(1024 * 1024).fill(98);
let huge: Uint8Array | undefined;
const connections = new Set<string>();
const sessions = new Set<string>(["bench-session"]);
const html = { "content-type": "text/html; charset=utf-8" };

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  async fetch(request, srv) {
    const url = new URL(request.url);
    if (url.pathname === "/__stats") return Response.json({ connections: connections.size });
    const peer = srv.requestIP(request);
    if (peer) connections.add(`${peer.address}:${peer.port}`);
    switch (url.pathname) {
      case "/":
        return new Response(small, { headers: html });
      case "/1m":
        return new Response(big, { headers: { "content-type": "application/octet-stream" } });
      case "/32m":
        // For slow readers: far more than any buffer between them and this server.
        huge ??= new Uint8Array(32 * 1024 * 1024).fill(99);
        return new Response(huge, { headers: { "content-type": "application/octet-stream" } });
      case "/echo":
        return new Response(request.body, { headers: { "content-type": "application/octet-stream" } });
      case "/api/auth/browser-session": {
        const token = `s${sessions.size}-${Date.now()}`;
        sessions.add(token);
        return Response.json(
          { authenticated: true },
          { headers: { "set-cookie": `t3_session=${token}; Path=/; HttpOnly` } },
        );
      }
      case "/api/auth/session": {
        const token = /t3_session=([^;]+)/.exec(request.headers.get("cookie") ?? "")?.[1] ?? "";
        return Response.json({ authenticated: sessions.has(token), auth: { sessionCookieName: "t3_session" } });
      }
      case "/ws":
        return srv.upgrade(request, { data: undefined }) ? undefined : new Response("no", { status: 400 });
      default:
        return new Response(small, { headers: html });
    }
  },
  websocket: {
    message(ws: ServerWebSocket<undefined>, message) {
      ws.send(message);
    },
  },
});
await Bun.write(process.argv[2] ?? "/dev/stdout", String(server.port));
