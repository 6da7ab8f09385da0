// The last stage: the request goes to the instance with only the cookies that
// are its own (cookie-filter.ts), over HTTP or as a bridged WebSocket; the
// answer comes back without cookies the instance may not set. A connection
// error drops the instance's cached genuineness verdict (the next request
// looks at who holds the port again) and its cached session answers (it may
// have restarted without them); a refused upgrade is explained by the session
// gate (a dropped session is a 401, not an instance that is down).

import type { Instance } from "../../config/table";
import { DispatchError } from "../../lib/errors";
import type { AppDeps, Meta } from "../app";
import { cookiesForInstance, type DroppedCookie, FRONT_COOKIE_PREFIXES, screenSetCookies } from "./cookie-filter";
import { takeWebSocketHandshake, upstreamRequestHeaders } from "./headers";
import { forwardHttp } from "./http";

type Deps = Pick<AppDeps, "settings" | "instances" | "sessions" | "cookieNames" | "runtime" | "openSockets" | "log"> & {
  refusedUpgrade(request: Request, instance: Instance, refused: DispatchError): Promise<DispatchError>;
};

export interface Forwarded {
  /** undefined: the runtime answered the upgrade itself (101). */
  response: Response | DispatchError | undefined;
  outcome: "proxied" | "websocket";
}

export function forwarder(deps: Deps) {
  const { settings, log, cookieNames, runtime } = deps;
  // The front's identity assertions and its shared secret never reach an instance.
  const dropPrefixes = [
    "x-authentik-",
    ...(settings.proof.secretHeader ? [settings.proof.secretHeader.toLowerCase()] : []),
  ];
  const frontCookies = [...FRONT_COOKIE_PREFIXES, ...settings.frontCookiePrefixes];
  const reported = new Set<string>();

  /** One log line per instance and cookie name, however often it is set. */
  function droppedCookies(instance: Instance, dropped: readonly DroppedCookie[]): void {
    for (const { name, reason } of dropped) {
      const key = `${instance.port}\0${name}\0${reason}`;
      if (reported.has(key)) continue;
      reported.add(key);
      log.log("warn", "set_cookie_dropped", { user: instance.user, port: instance.port, cookie: name, reason });
    }
  }

  function screen(response: Response, instance: Instance): void {
    if (!response.headers.has("set-cookie")) return;
    const { kept, dropped } = screenSetCookies(response.headers.getSetCookie(), (name) =>
      cookieNames.isOwn(instance.port, name),
    );
    if (dropped.length === 0) return;
    response.headers.delete("set-cookie");
    for (const line of kept) response.headers.append("set-cookie", line);
    droppedCookies(instance, dropped);
  }

  /** The instance did not take a request: who holds its port, and its sessions, are in doubt. */
  function unreachable(instance: Instance): void {
    deps.instances?.forget(instance.port);
    deps.sessions.forgetInstance(instance.port);
  }

  async function proxy(
    request: Request,
    server: unknown,
    meta: Meta,
    instance: Instance,
    session: string,
  ): Promise<Forwarded> {
    const headers = upstreamRequestHeaders(request, {
      clientAddress: meta.peer,
      dropPrefixes,
      requestId: meta.id,
      protocol: meta.url.protocol,
    });
    const cookie = cookiesForInstance(request.headers.get("cookie"), session, frontCookies);
    if (cookie === null) headers.delete("cookie");
    else headers.set("cookie", cookie);
    const path = meta.url.pathname + meta.url.search;
    if (meta.upgrade) {
      const protocols = takeWebSocketHandshake(request, headers);
      const target = {
        url: `ws://${settings.upstreamHost}:${instance.port}${path}`,
        headers,
        protocols,
        connectTimeoutMs: settings.exchangeTimeoutMs,
      };
      const bridged = await runtime.bridgeWebSocket(server, request, target, log, deps.openSockets);
      if (!(bridged instanceof DispatchError)) return { response: bridged, outcome: "websocket" };
      unreachable(instance);
      return { response: await deps.refusedUpgrade(request, instance, bridged), outcome: "websocket" };
    }
    const upstreamUrl = `http://${settings.upstreamHost}:${instance.port}${path}`;
    const response = await forwardHttp(request, upstreamUrl, headers, runtime.fetchUpstream, meta.id);
    if (response instanceof DispatchError) unreachable(instance);
    else screen(response, instance);
    return { response, outcome: "proxied" };
  }

  return { proxy, droppedCookies };
}
