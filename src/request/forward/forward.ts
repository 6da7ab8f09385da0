// The last stage: the request goes to the instance with only the cookies that
// are its own (cookie-filter.ts), over HTTP or as a bridged WebSocket; the
// answer comes back without cookies the instance may not set. A connection
// error drops the instance's cached genuineness (the next request
// looks at who holds the port again) and its cached session answers (it may
// have restarted without them); a refused upgrade is explained by the session
// gate (a dropped session is a 401, not an instance that is down).
import type { Instance } from "../../config/table";
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { OpenSockets, Runtime } from "../../runtime/runtime";
import { instanceUrl } from "../../t3/address";
import { personInFrame } from "../../t3/rpc-frames";
import type { RequestRecord } from "../context";
import type { InstanceCheck } from "../instance/check";
import type { SessionCache } from "../session/cache";
import { cookiesForInstance, FRONT_COOKIE_PREFIXES, type SetCookieScreen } from "./cookie-filter";
import { takeWebSocketHandshake, upstreamRequestHeaders } from "./headers";
import { forwardHttp } from "./http";

export interface ForwardDeps {
  upstreamHost: string;
  /** How long the instance's WebSocket may take to open. */
  connectTimeoutMs: number;
  /** The front's shared-secret header (secret proof), never forwarded. */
  secretHeader: string | undefined;
  /** Cookie-name prefixes of the front's own cookies, beyond Authentik's. */
  frontCookiePrefixes: readonly string[];
  instances: Pick<InstanceCheck, "forget"> | undefined;
  sessions: Pick<SessionCache, "forgetInstance">;
  screen: Pick<SetCookieScreen, "screen">;
  /** The session gate's explanation of an upgrade the instance refused. */
  refusedUpgrade(request: Request, instance: Instance, refused: DispatchError): Promise<DispatchError>;
  runtime: Pick<Runtime, "fetchUpstream" | "bridgeWebSocket">;
  openSockets: OpenSockets;
  /** A person's traffic reached their instance: an answered request, or a browser's frame that is not a keepalive. */
  onActivity(instance: Instance): void;
  log: Logger;
}

/** The instance's answer (undefined: the runtime answered the upgrade itself, 101), or why not. */
export type Forwarded = Response | DispatchError | undefined;

export function forwarder(deps: ForwardDeps) {
  const { upstreamHost, runtime, log } = deps;
  // The front's identity assertions and its shared secret never reach an instance.
  const dropPrefixes = ["x-authentik-", ...(deps.secretHeader ? [deps.secretHeader.toLowerCase()] : [])];
  const frontCookies = [...FRONT_COOKIE_PREFIXES, ...deps.frontCookiePrefixes];

  function screen(response: Response, instance: Instance): void {
    if (!response.headers.has("set-cookie")) return;
    const lines = response.headers.getSetCookie();
    const kept = deps.screen.screen(instance, lines);
    if (kept.length === lines.length) return;
    response.headers.delete("set-cookie");
    for (const line of kept) response.headers.append("set-cookie", line);
  }

  /** The instance did not take a request: who holds its port, and its sessions, are in doubt. */
  function unreachable(instance: Instance): void {
    deps.instances?.forget(instance.port);
    deps.sessions.forgetInstance(instance.port);
  }

  async function proxy(
    request: Request,
    server: unknown,
    record: RequestRecord,
    instance: Instance,
    session: string,
  ): Promise<Forwarded> {
    const headers = upstreamRequestHeaders(request, {
      clientAddress: record.peer,
      dropPrefixes,
      requestId: record.id,
      protocol: record.url.protocol,
    });
    const cookie = cookiesForInstance(request.headers.get("cookie"), session, frontCookies);
    if (cookie === null) headers.delete("cookie");
    else headers.set("cookie", cookie);
    const path = record.url.pathname + record.url.search;
    if (record.upgrade) {
      const protocols = takeWebSocketHandshake(request, headers);
      const url = instanceUrl(upstreamHost, instance.port, path, "ws");
      const onClientFrame = (frame: string | ArrayBuffer | Uint8Array) => {
        if (personInFrame(frame)) deps.onActivity(instance);
      };
      const target = { url, headers, protocols, connectTimeoutMs: deps.connectTimeoutMs, onClientFrame };
      const bridged = await runtime.bridgeWebSocket(server, request, target, log, deps.openSockets);
      if (!(bridged instanceof DispatchError)) return bridged;
      unreachable(instance);
      return deps.refusedUpgrade(request, instance, bridged);
    }
    const upstreamUrl = instanceUrl(upstreamHost, instance.port, path);
    const response = await forwardHttp(request, upstreamUrl, headers, runtime.fetchUpstream, record.id);
    if (response instanceof DispatchError) unreachable(instance);
    else {
      screen(response, instance);
      deps.onActivity(instance);
    }
    return response;
  }

  return { proxy };
}
