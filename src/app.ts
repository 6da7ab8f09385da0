// Composes the request flow on Elysia's lifecycle:
//   resolve (request id → trust → identity → route)
//   → beforeHandle (session decision; may pair or refuse) → handler (proxy),
// each answer recorded (access log, metrics) where it is made.
// Control-plane routes registered before the hooks do not pass through them.
import { Elysia } from "elysia";
import type { Settings } from "./config/settings";
import type { Instance } from "./config/table";
import { parseCookies } from "./cookies";
import { DispatchError, errorResponse } from "./errors";
import { identityFrom } from "./identity";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import { OWNER_COOKIE, type OwnerBinding } from "./owner";
import { Pairing, pairedResponse, redirectTarget } from "./pairing";
import { isWebSocketUpgrade, takeWebSocketHandshake, upstreamRequestHeaders } from "./proxy/headers";
import { forwardHttp } from "./proxy/http";
import { requestIdOf } from "./request-id";
import type { OpenSockets, Runtime } from "./runtime/runtime";
import type { CookieNames } from "./session";
import { isDocumentNavigation } from "./session";
import type { SessionCache } from "./session-cache";
import { checkSession, exchangeCredential } from "./t3/client";
import type { PeerCheck } from "./trust";

export interface AppDeps {
  settings: Settings;
  routing: { lookup(user: string): Instance | undefined };
  cookieNames: CookieNames;
  sessions: SessionCache;
  owners: OwnerBinding;
  trusted: PeerCheck;
  mint(osUser: string): Promise<string | DispatchError>;
  /** What the runtime does for the proxy: peer address, upstream fetch, WebSocket bridge. */
  runtime: Pick<Runtime, "peerAddress" | "fetchUpstream" | "bridgeWebSocket">;
  /** The bridged sockets, for the server's shutdown to close. */
  openSockets: OpenSockets;
  metrics: Metrics;
  log: Logger;
}

/** Where a request goes, or why it goes nowhere (answered in beforeHandle). */
type Route = { instance: Instance; error?: undefined } | { instance?: undefined; error: DispatchError };

/** What the access log and metrics say about one request; filled in as it goes. */
interface Meta {
  id: string;
  started: number;
  peer: string | undefined;
  html: boolean;
  user?: string;
  outcome: string;
  /** The session cookie the handler must check with the instance before proxying. */
  check?: { name: string; value: string };
}

/** Headers never forwarded to an instance: the front proxy's identity assertions. */
const DROP_PREFIXES = ["x-authentik-"];

export function createApp(deps: AppDeps) {
  const { settings, log, cookieNames, sessions, owners, metrics, runtime } = deps;
  const upstreamBase = (port: number): string => `http://${settings.upstreamHost}:${port}`;
  const pairing = new Pairing({
    mint: deps.mint,
    exchange: (instance, credential, order) =>
      exchangeCredential(upstreamBase(instance.port), instance.port, credential, settings.exchangeTimeoutMs, order),
    cookieNames,
    owners,
    secureCookies: settings.secureCookies,
    attempts: settings.pairAttempts,
    windowMs: settings.pairWindowMs,
    log,
    observe(result, ms) {
      metrics.pairings.inc(result);
      if (result === "ok") metrics.pairingSeconds.observe(ms / 1000);
    },
  });

  const fail = (meta: Meta, error: DispatchError): Response => {
    meta.outcome = error.kind;
    if (error.kind === "upstream_down" || error.kind === "exchange_unreachable") metrics.upstreamErrors.inc(error.kind);
    return errorResponse(error, log, { requestId: meta.id, html: meta.html }, { user: meta.user });
  };

  const pairAndRedirect = async (meta: Meta, instance: Instance, url: URL): Promise<Response> => {
    const paired = await pairing.pair(instance);
    if (paired instanceof DispatchError) return fail(meta, paired);
    meta.outcome = "paired";
    return pairedResponse(paired, redirectTarget(url), meta.id);
  };

  /**
   * The session decision. A session cookie counts only if its owner binding
   * names this user (another person's cookie is dropped). Without one, a
   * navigation pairs and anything else gets a 401. A navigation or a WebSocket
   * with one needs the instance's word (unless recently cached): that check is
   * left to the handler (meta.check). XHR and assets are never 302'd.
   */
  function sessionGate(request: Request, route: Route, meta: Meta): Response | Promise<Response> | undefined {
    const { instance, error } = route;
    if (!instance) return error && fail(meta, error);
    const cookies = parseCookies(request.headers.get("cookie"));
    const name = cookieNames.find(instance.port, cookies.keys());
    const value = name === undefined ? undefined : cookies.get(name);
    const bound = value !== undefined && owners.verify(instance.user, value, cookies.get(OWNER_COOKIE));
    if (value !== undefined && !bound) {
      log.log("info", "session_cookie_not_bound", { request_id: meta.id, user: instance.user });
    }
    if (name === undefined || value === undefined || !bound) {
      const url = new URL(request.url);
      return meta.html
        ? pairAndRedirect(meta, instance, url)
        : fail(meta, new DispatchError("no_session", `${request.method} ${url.pathname} without a session`));
    }
    if (!meta.html && !isWebSocketUpgrade(request)) return undefined;
    // t3's SPA navigates to /pair when its session is dead: never trust the cache for it.
    if (sessions.isValid(instance.port, value) && new URL(request.url).pathname !== "/pair") {
      metrics.sessionChecks.inc("cached");
      return undefined;
    }
    meta.check = { name, value };
    return undefined;
  }

  /** Asks the instance about the session: undefined to proceed, or the re-pair / refusal. */
  async function checkOrRepair(
    request: Request,
    url: URL,
    instance: Instance,
    meta: Meta,
    cookie: { name: string; value: string },
  ): Promise<Response | undefined> {
    const verdict = await checkSession(
      upstreamBase(instance.port),
      `${cookie.name}=${cookie.value}`,
      settings.sessionTimeoutMs,
    );
    metrics.sessionChecks.inc(verdict.state);
    if (verdict.state === "unknown") {
      log.log("warn", "session_check_failed_open", {
        request_id: meta.id,
        user: instance.user,
        reason: verdict.reason,
      });
      return undefined;
    }
    cookieNames.learn(instance.port, verdict.cookieName);
    if (verdict.state === "valid") {
      sessions.remember(instance.port, cookie.value);
      return undefined;
    }
    sessions.forget(instance.port, cookie.value);
    if (isWebSocketUpgrade(request))
      return fail(meta, new DispatchError("no_session", "WebSocket with a dead session"));
    log.log("info", "session_dead_repair", { request_id: meta.id, user: instance.user, port: instance.port });
    return pairAndRedirect(meta, instance, url);
  }

  /**
   * The access-log line and request metrics of one answered request, written
   * where the answer is made: an afterResponse hook would cost a scheduled
   * task per request. Undefined means the runtime's server sent a 101 itself.
   */
  function record(meta: Meta, response: Response | undefined): void {
    metrics.requests.inc(meta.outcome);
    if (!settings.accessLog) return;
    log.log("info", "request", {
      request_id: meta.id,
      user: meta.user,
      outcome: meta.outcome,
      status: response?.status ?? 101,
      ms: Math.round((performance.now() - meta.started) * 10) / 10,
    });
  }

  return (
    new Elysia()
      .get("/healthz", () => new Response("ok\n", { headers: { "content-type": "text/plain; charset=utf-8" } }))
      // Request id, then trust → identity → route. A failure is carried as a
      // value and answered in beforeHandle (one hook: the hot path pays for one).
      .resolve(({ request, server }): { meta: Meta; route: Route } => {
        const meta: Meta = {
          id: requestIdOf(request),
          started: performance.now(),
          peer: runtime.peerAddress(server, request),
          html: isDocumentNavigation(request),
          outcome: "proxied",
        };
        const header = request.headers.get(settings.identityHeader);
        if (header !== null && !deps.trusted(meta.peer)) {
          return { meta, route: { error: new DispatchError("untrusted_peer", `identity header from ${meta.peer}`) } };
        }
        const user = identityFrom(header);
        if (user instanceof DispatchError) return { meta, route: { error: user } };
        meta.user = user;
        const instance = deps.routing.lookup(user);
        if (instance) return { meta, route: { instance } };
        return { meta, route: { error: new DispatchError("not_provisioned", `no dispatch entry for user ${user}`) } };
      })
      // The session gate (see sessionGate): synchronous in the common case, a
      // promise only when it pairs. (Elysia 1.4 still awaits it: it judges a
      // hook async from its source text, and the minified gate matches.)
      .onBeforeHandle(function gate({ request, route, meta }) {
        const early = sessionGate(request, route, meta);
        // A throw is Elysia's to answer; only answers are recorded.
        if (early instanceof Promise)
          early.then(
            (response) => record(meta, response),
            () => undefined,
          );
        else if (early) record(meta, early);
        return early;
      })
      // Steady state: proxy HTTP or bridge a WebSocket to the user's instance.
      .all(
        "*",
        async ({ request, route, server, meta }) => {
          const { instance } = route;
          if (!instance) return; // answered in beforeHandle
          const response = await proxy(request, instance, server, meta);
          record(meta, response);
          return response;
        },
        { parse: "none" },
      )
  );

  /** The session check if one is due, then the HTTP proxy or the WebSocket bridge. */
  async function proxy(request: Request, instance: Instance, server: unknown, meta: Meta) {
    const url = new URL(request.url);
    if (meta.check) {
      const refused = await checkOrRepair(request, url, instance, meta, meta.check);
      if (refused) return refused;
    }
    const headers = upstreamRequestHeaders(request, {
      clientAddress: meta.peer,
      dropPrefixes: DROP_PREFIXES,
      requestId: meta.id,
      protocol: url.protocol,
    });
    const path = url.pathname + url.search;
    if (isWebSocketUpgrade(request)) {
      meta.outcome = "websocket";
      const protocols = takeWebSocketHandshake(request, headers);
      const target = {
        url: `ws://${settings.upstreamHost}:${instance.port}${path}`,
        headers,
        protocols,
        connectTimeoutMs: settings.exchangeTimeoutMs,
      };
      const bridged = await runtime.bridgeWebSocket(server, request, target, log, deps.openSockets);
      return bridged instanceof DispatchError ? fail(meta, bridged) : bridged;
    }
    const upstreamUrl = upstreamBase(instance.port) + path;
    const response = await forwardHttp(request, upstreamUrl, headers, runtime.fetchUpstream, meta.id);
    return response instanceof DispatchError ? fail(meta, response) : response;
  }
}
