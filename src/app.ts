// Composes the request flow on Elysia's lifecycle:
//   resolve (identity → route) → beforeHandle (session decision, may pair) → handler (proxy).
// Control-plane routes registered before the hooks do not pass through them.
import { Elysia } from "elysia";
import type { Settings } from "./config/settings";
import type { Instance } from "./config/table";
import { DispatchError, errorResponse } from "./errors";
import { identityFrom } from "./identity";
import type { Logger } from "./log";
import { type PairingDeps, pair } from "./pairing";
import { isWebSocketUpgrade, takeWebSocketHandshake, upstreamRequestHeaders } from "./proxy/headers";
import { forwardHttp } from "./proxy/http";
import { type CookieNames, isDocumentNavigation } from "./session";
import { checkSession, exchangeCredential } from "./t3/client";

/** The runtime-specific WebSocket upgrade; undefined means the socket is bridged. */
export type WebSocketBridge = (
  server: unknown,
  request: Request,
  target: {
    url: string;
    headers: Headers;
    protocols: string[];
    connectTimeoutMs: number;
  },
  log: Logger,
) => Promise<DispatchError | undefined>;

export interface AppDeps {
  settings: Settings;
  routing: { lookup(user: string): Instance | undefined };
  cookieNames: CookieNames;
  mint(osUser: string): Promise<string | DispatchError>;
  bridge: WebSocketBridge;
  /** The peer address of a request, when the runtime knows it. */
  peerAddress(server: unknown, request: Request): string | undefined;
  log: Logger;
}

/** Where a request goes, or why it goes nowhere (answered in beforeHandle). */
type Route = { instance: Instance; error?: undefined } | { instance?: undefined; error: DispatchError };

export function createApp(deps: AppDeps) {
  const { settings, log, cookieNames } = deps;
  const upstreamBase = (port: number): string => `http://${settings.upstreamHost}:${port}`;
  const pairing: PairingDeps = {
    mint: deps.mint,
    exchange: (instance, credential) =>
      exchangeCredential(upstreamBase(instance.port), instance.port, credential, settings.exchangeTimeoutMs),
    cookieNames,
    log,
  };
  const pairOrFail = async (instance: Instance): Promise<Response> => {
    const result = await pair(instance, pairing);
    return result instanceof DispatchError ? errorResponse(result, log, { user: instance.user }) : result;
  };

  return (
    new Elysia()
      .get(
        "/healthz",
        () =>
          new Response("ok\n", {
            headers: { "content-type": "text/plain; charset=utf-8" },
          }),
      )
      // Identity → route. A failure is carried as a value and answered in beforeHandle.
      .resolve(({ request }): { route: Route } => {
        const user = identityFrom(request.headers.get(settings.identityHeader));
        if (user instanceof DispatchError) return { route: { error: user } };
        const instance = deps.routing.lookup(user);
        return {
          route: instance
            ? { instance }
            : {
                error: new DispatchError("not_provisioned", `no dispatch entry for user ${user}`),
              },
        };
      })
      // The session decision: pair when there is no cookie for this instance, and
      // re-pair on a document navigation whose cookie the instance calls dead.
      .onBeforeHandle(async ({ request, route: { instance: route, error }, cookie }) => {
        if (!route) return error && errorResponse(error, log, { path: new URL(request.url).pathname });
        const present = cookieNames.find(route.port, Object.keys(cookie));
        if (present === undefined) return pairOrFail(route);
        if (!isDocumentNavigation(request)) return;
        const verdict = await checkSession(
          upstreamBase(route.port),
          request.headers.get("cookie") ?? "",
          settings.sessionTimeoutMs,
        );
        if (verdict.state === "unknown") {
          log.log("warn", "session_check_failed_open", {
            user: route.user,
            reason: verdict.reason,
          });
          return;
        }
        cookieNames.learn(route.port, verdict.cookieName);
        if (verdict.state === "invalid") {
          log.log("info", "session_dead_repair", {
            user: route.user,
            port: route.port,
          });
          return pairOrFail(route);
        }
      })
      // Steady state: proxy HTTP or bridge a WebSocket to the user's instance.
      .all(
        "*",
        async ({ request, route: { instance: route }, server }) => {
          if (!route) return; // answered in beforeHandle
          const url = new URL(request.url);
          const headers = upstreamRequestHeaders(request, {
            clientAddress: deps.peerAddress(server, request),
            drop: [settings.identityHeader],
          });
          const path = url.pathname + url.search;
          if (isWebSocketUpgrade(request)) {
            const protocols = takeWebSocketHandshake(request, headers);
            const failed = await deps.bridge(
              server,
              request,
              {
                url: `ws://${settings.upstreamHost}:${route.port}${path}`,
                headers,
                protocols,
                connectTimeoutMs: settings.exchangeTimeoutMs,
              },
              log,
            );
            return failed && errorResponse(failed, log, { user: route.user });
          }
          const response = await forwardHttp(request, upstreamBase(route.port) + path, headers);
          return response instanceof DispatchError ? errorResponse(response, log, { user: route.user }) : response;
        },
        { parse: "none" },
      )
  );
}
