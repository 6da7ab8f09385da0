// The demo's stand-in for Traefik + Authentik: pick a user, and every request
// is forwarded to the dispatcher with the outpost's headers for
// `<user>@example.com` (username, signed token, JWKS URL) injected and any
// client-sent X-authentik-* dropped, WebSockets included.

import { Elysia } from "elysia";
import { DispatchError } from "../lib/errors";
import { createLogger } from "../lib/log";
import { isWebSocketUpgrade, takeWebSocketHandshake, upstreamRequestHeaders } from "../request/forward/headers";
import { forwardHttp } from "../request/forward/http";
import { runtime } from "../runtime/current";
import type { Listening, OpenSockets } from "../runtime/runtime";
import type { FakeOutpost } from "./fake-outpost";

const USER_COOKIE = "demo_user";

function loginPage(users: string[]): Response {
  const links = users.map((u) => `<li><a href="/__front/login?user=${u}">Log in as <b>${u}</b></a></li>`).join("");
  return new Response(
    `<!doctype html><html><head><meta charset="utf-8"><title>Demo login</title></head>
<body style="font:16px system-ui;margin:3rem"><h1>Demo identity provider</h1>
<p>This page plays Authentik. Pick a person; you should land in their own t3 workspace, already paired.</p>
<ul>${links}</ul><p><a href="/__front/logout">Log out</a> (switch users)</p></body></html>`,
    { headers: { "content-type": "text/html; charset=utf-8" } },
  );
}

export function startFront(options: {
  port: number;
  dispatcherUrl: string;
  users: string[];
  outpost: FakeOutpost;
}): Listening {
  const log = createLogger();
  const open: OpenSockets = new Set();

  async function forward(request: Request, server: unknown): Promise<Response | undefined> {
    const url = new URL(request.url);
    if (url.pathname === "/__front/login") {
      const user = url.searchParams.get("user") ?? "";
      if (!options.users.includes(user)) return loginPage(options.users);
      return new Response(null, {
        status: 302,
        headers: {
          location: "/",
          "set-cookie": `${USER_COOKIE}=${user}; Path=/; HttpOnly; SameSite=Lax`,
        },
      });
    }
    if (url.pathname === "/__front/logout") {
      return new Response(null, {
        status: 302,
        headers: {
          location: "/",
          "set-cookie": `${USER_COOKIE}=; Path=/; Max-Age=0`,
        },
      });
    }
    const user = /(?:^|;\s*)demo_user=([a-z]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
    if (!user || !options.users.includes(user)) return loginPage(options.users);
    const headers = upstreamRequestHeaders(request, {
      clientAddress: runtime.peerAddress(server, request),
      dropPrefixes: ["x-authentik-"],
    });
    for (const [name, value] of Object.entries(await options.outpost.headersFor(`${user}@example.com`)))
      headers.set(name, value);
    const target = options.dispatcherUrl + url.pathname + url.search;
    const answer = isWebSocketUpgrade(request)
      ? await runtime.bridgeWebSocket(
          server,
          request,
          {
            url: target.replace(/^http/, "ws"),
            headers,
            protocols: takeWebSocketHandshake(request, headers),
            onClientFrame() {},
            connectTimeoutMs: 10_000,
          },
          log,
          open,
        )
      : await forwardHttp(request, target, headers, runtime.fetchUpstream);
    return answer instanceof DispatchError ? new Response(`${answer.message}\n`, { status: 502 }) : answer;
  }

  const app = new Elysia().all("*", ({ request, server }) => forward(request, server), { parse: "none" });
  return runtime.serveApp(app, { kind: "tcp", hostname: "127.0.0.1", port: options.port });
}
