// Wires the one request path onto Elysia's lifecycle. Read top to bottom:
//   resolve:      arrival → proof → identity → route → instance → origin  (admission.ts)
//   beforeHandle: another host's instance: on to the door                 (door/door.ts)
//                 lifecycle (go on, or wait while the instance starts;    (lifecycle/lifecycle.ts)
//                   a start's pairing is minted during it)                (session/gate.ts)
//                 session (pass, ask the instance, pair, or refuse)       (session/gate.ts)
//   handler:      cookie filter → proxy (HTTP | WebSocket)                (forward/forward.ts)
//                 or a sleeping instance's socket, held until woken      (lifecycle/held.ts)
//                 or the door → the owner host's dispatcher               (door/door.ts)
// Each stage returns a typed result; every answer is recorded in answer.ts.
// Control-plane routes come before the hooks. The same stages serve two
// apps: the front's listener (a door to every host) and the fleet listener
// (requests other doors forwarded: this host's instances only, never on).
import { Elysia } from "elysia";
import type { Settings } from "../config/settings";
import type { Instance } from "../config/table";
import { DispatchError } from "../lib/errors";
import type { Logger } from "../lib/log";
import { andThen } from "../lib/maybe-promise";
import type { OpenSockets, Runtime } from "../runtime/runtime";
import { instanceUrl } from "../t3/address";
import { checkSession, exchangeCredential } from "../t3/client";
import { type Admission, type AdmissionDeps, admit } from "./admission";
import { answers } from "./answer";
import { arrive } from "./arrival";
import type { RequestRecord } from "./context";
import type { Door } from "./door/door";
import { SetCookieScreen } from "./forward/cookie-filter";
import { forwarder } from "./forward/forward";
import type { InstanceCheck } from "./instance/check";
import { Asleep, type Lifecycle, Waiting } from "./lifecycle/lifecycle";
import type { Metrics } from "./metrics";
import { Paired, Pairing, pairedResponse, redirectTarget } from "./pairing/pairing";
import type { SessionCache } from "./session/cache";
import type { CookieNames } from "./session/cookie-names";
import { sessionGate } from "./session/gate";
import type { OwnerBinding } from "./session/owner";

export interface AppDeps extends Omit<AdmissionDeps, "publicOrigin" | "instances"> {
  settings: Settings;
  /** undefined: instances are not on this host (not checked). */
  instances: InstanceCheck | undefined;
  cookieNames: CookieNames;
  sessions: SessionCache;
  owners: OwnerBinding;
  mint(osUser: string): Promise<string | DispatchError>;
  /** undefined: on-demand start is off (a down instance is a 502). */
  lifecycle: Lifecycle | undefined;
  /** undefined: no other host (an instance elsewhere is refused). */
  door: Door | undefined;
  /** What the runtime does for the proxy: peer address, upstream fetch, WebSocket bridge. */
  runtime: Pick<Runtime, "peerAddress" | "fetchUpstream" | "bridgeWebSocket">;
  /** The bridged sockets, for the server's shutdown to close. */
  openSockets: OpenSockets;
  metrics: Metrics;
  log: Logger;
}

/** The stages, each given the narrow part of the deps it declares. */
function stagesFor(deps: AppDeps) {
  const { settings, log, metrics, instances, cookieNames } = deps;
  const base = (port: number): string => instanceUrl(settings.upstreamHost, port);
  const answer = answers({ accessLog: settings.accessLog, metrics, log });
  const screen = new SetCookieScreen(cookieNames, log);
  const pairing = new Pairing({
    genuine: (instance) => instances?.fresh(instance),
    mint: deps.mint,
    exchange: (instance, credential, order) =>
      exchangeCredential(base(instance.port), instance.port, credential, settings.exchangeTimeoutMs, order),
    cookieNames,
    owners: deps.owners,
    secureCookies: settings.secureCookies,
    attempts: settings.pairAttempts,
    windowMs: settings.pairWindowMs,
    log,
    observe(result, ms) {
      metrics.pairings.inc(result);
      if (result === "ok") metrics.pairingSeconds.observe(ms / 1000);
    },
    screen,
  });
  const gate = sessionGate({
    cookieNames,
    sessions: deps.sessions,
    owners: deps.owners,
    pairing,
    check: (instance, cookie) => checkSession(base(instance.port), cookie, settings.sessionTimeoutMs),
    metrics,
    log,
  });
  const forward = forwarder({
    upstreamHost: settings.upstreamHost,
    connectTimeoutMs: settings.exchangeTimeoutMs,
    secretHeader: settings.proof.secretHeader,
    frontCookiePrefixes: settings.frontCookiePrefixes,
    instances,
    sessions: deps.sessions,
    screen,
    refusedUpgrade: gate.refusedUpgrade,
    onActivity: (instance) => deps.lifecycle?.active(instance),
    runtime: deps.runtime,
    openSockets: deps.openSockets,
    log,
  });
  const admission = { proof: deps.proof, routing: deps.routing, instances, publicOrigin: settings.publicOrigin };
  return { answer, gate, forward, admission };
}

type Stages = ReturnType<typeof stagesFor>;

/** The apps for the front's listener and for the fleet listener, on one set of stages. */
export function createApp(deps: AppDeps) {
  const stages = stagesFor(deps);
  return { main: appWith(deps, stages, deps.door), fleet: () => appWith(deps, stages, undefined) };
}

function appWith(deps: AppDeps, { answer, gate, forward, admission }: Stages, door: Door | undefined) {
  /** Another host's instance: the door takes it on, or (forwarded here already) the tables disagree. */
  function elsewhere(record: RequestRecord, instance: Instance) {
    if (door) {
      record.forward = { instance, session: "" };
      return undefined;
    }
    const detail = `forwarded here, but the table puts ${instance.user}'s instance on host ${instance.host}`;
    return answer.refuse(record, new DispatchError("wrong_host", detail, { host: instance.host ?? "" }));
  }

  /** The lifecycle and session stages: a wait, a refusal or a pairing answers here; a pass is noted on the record. */
  function sessionStage(request: Request, record: RequestRecord, admitted: Admission) {
    if (!(admitted instanceof DispatchError) && admitted.host !== undefined) return elsewhere(record, admitted);
    const verdict = deps.lifecycle ? deps.lifecycle.decide(record, admitted) : admitted;
    if (verdict instanceof Waiting) {
      if (verdict.began && verdict.start) gate.ahead(request, verdict.start);
      return answer.wait(record, verdict);
    }
    if (verdict instanceof DispatchError) return answer.refuse(record, verdict);
    if (verdict instanceof Asleep) {
      // Held only for a session bound to this person: nobody else's socket can wake their instance.
      if (!gate.bound(request, verdict.instance)) return answer.refuse(record, verdict.refusal(record.url.pathname));
      record.forward = { instance: verdict.instance, session: "", held: true };
      return undefined;
    }
    const instance = verdict;
    return andThen(gate.decide({ request, record, instance }), (decision) => {
      if (decision instanceof DispatchError) return answer.refuse(record, decision);
      if (decision instanceof Paired) {
        const response = pairedResponse(decision, redirectTarget(record.url), record.id);
        answer.record(record, "paired", response);
        return response;
      }
      record.forward = { instance, session: decision.proxy };
      return undefined;
    });
  }

  return (
    new Elysia()
      .get("/healthz", () => new Response("ok\n", { headers: { "content-type": "text/plain; charset=utf-8" } }))
      .resolve(({ request, server }) => {
        const record = arrive(request, deps.runtime.peerAddress(server, request));
        return { record, admission: admit(admission, request, record) };
      })
      // An unexpected throw in a stage (a bug): one log line with the request id, a 500 with it.
      .onError(({ error, request, code, record }) => answer.crash(request, record, String(code), error))
      // Synchronous in the steady state; a promise when it asks, pairs or first verifies a token.
      .onBeforeHandle(({ request, record, admission }) =>
        andThen(admission, (admitted) => sessionStage(request, record, admitted)),
      )
      .all(
        "*",
        async ({ request, server, record }) => {
          const pass = record.forward;
          if (!pass) return; // answered in beforeHandle
          const remote = door !== undefined && pass.instance.host !== undefined;
          const response = pass.held
            ? deps.lifecycle?.hold(server, request, record, pass.instance)
            : remote
              ? await door.proxy(request, server, record, pass.instance)
              : await forward.proxy(request, server, record, pass.instance, pass.session);
          if (response instanceof DispatchError) return answer.refuse(record, response);
          const outcome = pass.held ? "held" : remote ? "forwarded" : record.upgrade ? "websocket" : "proxied";
          answer.record(record, outcome, response);
          return response;
        },
        { parse: "none" },
      )
  );
}
