// Wires the one request path onto Elysia's lifecycle. Read top to bottom:
//   resolve:      proof → identity → route → instance → origin   (admission.ts)
//   beforeHandle: session (pass, ask the instance, pair, or refuse)  (session/gate.ts)
//   handler:      cookie filter → proxy (HTTP | WebSocket)         (forward/forward.ts)
// Each stage returns a typed result; an answer is recorded (access log,
// metrics) where it is made. Control-plane routes come before the hooks.
import { Elysia } from "elysia";
import type { Settings } from "../config/settings";
import type { Instance } from "../config/table";
import { DispatchError, errorResponse } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { OpenSockets, Runtime } from "../runtime/runtime";
import { checkSession, exchangeCredential } from "../t3/client";
import { type Admission, admit } from "./admission";
import { forwarder } from "./forward/forward";
import { isWebSocketUpgrade } from "./forward/headers";
import type { Identity } from "./identity";
import type { InstanceCheck } from "./instance/check";
import type { Metrics } from "./metrics";
import { Pairing, pairedResponse, redirectTarget } from "./pairing/pairing";
import type { Proof } from "./proof/proof";
import { requestIdOf } from "./request-id";
import type { SessionCache } from "./session/cache";
import type { CookieNames } from "./session/cookie-names";
import { isDocumentNavigation } from "./session/cookie-names";
import { sessionGate } from "./session/gate";
import type { OwnerBinding } from "./session/owner";

export interface AppDeps {
  settings: Settings;
  proof: Proof;
  routing: { route(identity: Identity): Instance | DispatchError };
  /** undefined: instances are not on this host (not checked). */
  instances: InstanceCheck | undefined;
  cookieNames: CookieNames;
  sessions: SessionCache;
  owners: OwnerBinding;
  mint(osUser: string): Promise<string | DispatchError>;
  /** What the runtime does for the proxy: peer address, upstream fetch, WebSocket bridge. */
  runtime: Pick<Runtime, "peerAddress" | "fetchUpstream" | "bridgeWebSocket">;
  /** The bridged sockets, for the server's shutdown to close. */
  openSockets: OpenSockets;
  metrics: Metrics;
  log: Logger;
}

/** What every stage knows of one request; set once in resolve. */
export interface Meta {
  readonly id: string;
  readonly started: number;
  readonly peer: string | undefined;
  readonly url: URL;
  readonly html: boolean;
  readonly upgrade: boolean;
}

export function createApp(deps: AppDeps) {
  const { settings, log, metrics, instances } = deps;
  const upstreamBase = (port: number): string => `http://${settings.upstreamHost}:${port}`;
  const pairing = new Pairing({
    genuine: (instance) => instances?.fresh(instance),
    mint: deps.mint,
    exchange: (instance, credential, order) =>
      exchangeCredential(upstreamBase(instance.port), instance.port, credential, settings.exchangeTimeoutMs, order),
    cookieNames: deps.cookieNames,
    owners: deps.owners,
    secureCookies: settings.secureCookies,
    attempts: settings.pairAttempts,
    windowMs: settings.pairWindowMs,
    log,
    observe(result, ms) {
      metrics.pairings.inc(result);
      if (result === "ok") metrics.pairingSeconds.observe(ms / 1000);
    },
    dropped: (instance, cookies) => forward.droppedCookies(instance, cookies),
  });
  const gate = sessionGate({
    cookieNames: deps.cookieNames,
    sessions: deps.sessions,
    owners: deps.owners,
    pairing,
    check: (instance, cookie) => checkSession(upstreamBase(instance.port), cookie, settings.sessionTimeoutMs),
    metrics,
    log,
  });
  const forward = forwarder({ ...deps, refusedUpgrade: gate.refusedUpgrade });

  /** The access-log line and request metrics of one answered request (undefined: the runtime sent a 101). */
  function record(meta: Meta, outcome: string, user: string | undefined, response: Response | undefined): void {
    metrics.requests.inc(outcome);
    if (!settings.accessLog) return;
    log.log("info", "request", {
      request_id: meta.id,
      user,
      outcome,
      status: response?.status ?? 101,
      ms: Math.round((performance.now() - meta.started) * 10) / 10,
    });
  }

  /** A refusal: logged once, rendered (page or JSON), counted, recorded. */
  function refuse(meta: Meta, error: DispatchError, user: string | undefined): Response {
    if (error.kind === "upstream_down" || error.kind === "exchange_unreachable") metrics.upstreamErrors.inc(error.kind);
    else if (error.status === 403) metrics.refusals.inc(error.kind);
    const response = errorResponse(error, log, { requestId: meta.id, html: meta.html }, { user });
    record(meta, error.kind, user, response);
    return response;
  }

  /** The session stage's answer, or undefined to go on to the proxy (the cookie it may forward kept in `passed`). */
  const passed = new WeakMap<Request, { instance: Instance; session: string }>();
  function sessionStage(
    request: Request,
    meta: Meta,
    admission: Admission,
  ): Response | Promise<Response | undefined> | undefined {
    if ("refused" in admission) return refuse(meta, admission.refused, admission.user);
    const { instance } = admission;
    const answer = (verdict: Awaited<ReturnType<typeof gate.decide>>): Response | undefined => {
      if (verdict instanceof DispatchError) return refuse(meta, verdict, instance.user);
      if ("proxy" in verdict) {
        passed.set(request, { instance, session: verdict.proxy });
        return undefined;
      }
      const response = pairedResponse(verdict, redirectTarget(meta.url), meta.id);
      record(meta, "paired", instance.user, response);
      return response;
    };
    const verdict = gate.decide({
      request,
      url: meta.url,
      instance,
      requestId: meta.id,
      html: meta.html,
      upgrade: meta.upgrade,
    });
    return verdict instanceof Promise ? verdict.then(answer) : answer(verdict);
  }

  return (
    new Elysia()
      .get("/healthz", () => new Response("ok\n", { headers: { "content-type": "text/plain; charset=utf-8" } }))
      // An unexpected throw: one log line with the request id, a 500 with it.
      .onError(({ error, request, code, ...context }) => {
        const meta = (context as { meta?: Meta }).meta;
        const id = meta?.id ?? requestIdOf(request);
        const detail = `${code}: ${error instanceof Error ? error.message : String(error)}`;
        return errorResponse(new DispatchError("internal", detail), log, { requestId: id, html: meta?.html ?? false });
      })
      .resolve(({ request, server }): { meta: Meta; admission: Admission | Promise<Admission> } => {
        const url = new URL(request.url);
        const meta: Meta = {
          id: requestIdOf(request),
          started: performance.now(),
          peer: deps.runtime.peerAddress(server, request),
          url,
          html: isDocumentNavigation(request),
          upgrade: isWebSocketUpgrade(request),
        };
        return { meta, admission: admit(deps, request, meta) };
      })
      // The session stage: synchronous in the steady state, a promise when it asks, pairs or first verifies a token.
      .onBeforeHandle(function gate({ request, meta, admission }) {
        return admission instanceof Promise
          ? admission.then((settled) => sessionStage(request, meta, settled))
          : sessionStage(request, meta, admission);
      })
      .all(
        "*",
        async ({ request, server, meta }) => {
          const pass = passed.get(request);
          if (!pass) return; // answered in beforeHandle
          const { response, outcome } = await forward.proxy(request, server, meta, pass.instance, pass.session);
          if (response instanceof DispatchError) return refuse(meta, response, pass.instance.user);
          record(meta, outcome, pass.instance.user, response);
          return response;
        },
        { parse: "none" },
      )
  );
}
