// Stage: the session decision, in one place. A session cookie counts only if
// its owner binding names this user (another person's cookie is never
// forwarded). Without one, a navigation pairs and anything else gets a 401.
// A navigation or a WebSocket with one needs the instance's word, unless a
// "valid" answer is cached (never for `/pair`, where t3's page goes when its
// session is dead): only a definite "dead" re-pairs (a navigation) or refuses
// (a WebSocket); an unanswered check fails open. Nothing later pairs again.
// An upgrade the instance refuses on a cached answer is explained here too:
// a session the instance has dropped is a 401, not an instance that is down.
import type { Instance } from "../../config/table";
import { DispatchError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { MaybePromise } from "../../lib/maybe-promise";
import type { SessionState } from "../../t3/client";
import type { RequestRecord } from "../context";
import type { Start } from "../lifecycle/start";
import type { Metrics } from "../metrics";
import type { Paired, Pairing } from "../pairing/pairing";
import type { SessionCache } from "./cache";
import type { CookieNames } from "./cookie-names";
import { parseCookies } from "./cookies";
import { OWNER_COOKIE, type OwnerBinding } from "./owner";

/** Go on to the instance, forwarding the session cookie of this name. */
export class ProxyWith {
  constructor(readonly proxy: string) {}
}

/** Proxy, pair (the cookies to hand over), or refuse. */
export type SessionDecision = ProxyWith | Paired | DispatchError;

export interface SessionGateDeps {
  cookieNames: CookieNames;
  sessions: SessionCache;
  owners: OwnerBinding;
  pairing: Pick<Pairing, "pair" | "undone" | "mintAhead" | "dropAhead">;
  /** The instance's word on a session cookie. */
  check(instance: Instance, cookie: string): Promise<SessionState>;
  metrics: Pick<Metrics, "sessionChecks">;
  log: Logger;
}

/** The request, its record (a navigation is the only one a pairing 302 may answer) and its admitted instance. */
export interface Asking {
  request: Request;
  record: RequestRecord;
  instance: Instance;
}

export function sessionGate(deps: SessionGateDeps) {
  const { cookieNames, sessions, owners, pairing, metrics, log } = deps;

  /** The instance's session cookie among the browser's (its name and value), if any. */
  function sessionCookie(cookies: ReadonlyMap<string, string>, instance: Instance) {
    const name = cookieNames.find(instance.port, cookies.keys());
    const value = name === undefined ? undefined : cookies.get(name);
    return name === undefined || value === undefined ? undefined : { name, value };
  }

  /** The instance's word on the cookie, counted. */
  async function instanceWord(instance: Instance, name: string, value: string): Promise<SessionState> {
    const state = await deps.check(instance, `${name}=${value}`);
    metrics.sessionChecks.inc(state.state);
    return state;
  }

  /** The instance has dropped this session: no answer about it is kept, and a pairing that led to it was undone. */
  function sessionGone(instance: Instance, value: string): DispatchError {
    sessions.forget(instance.port, value);
    pairing.undone(instance.user, value);
    return new DispatchError("no_session", "WebSocket with a session the instance has dropped");
  }

  async function askInstance(asking: Asking, name: string, value: string): Promise<SessionDecision> {
    const { instance, record } = asking;
    const word = await instanceWord(instance, name, value);
    if (word.state === "unknown") {
      log.log("warn", "session_check_failed_open", {
        request_id: record.id,
        user: instance.user,
        reason: word.reason,
      });
      return new ProxyWith(name);
    }
    cookieNames.learn(instance.port, word.cookieName);
    if (word.state === "valid") {
      sessions.remember(instance.port, value);
      return new ProxyWith(name);
    }
    const refusal = sessionGone(instance, value);
    if (record.upgrade) return refusal;
    log.log("info", "session_dead_repair", { request_id: record.id, user: instance.user, port: instance.port });
    return pairing.pair(instance);
  }

  /** The request's session cookie for the instance, and whether its owner binding names this user. */
  function sessionOf(request: Request, instance: Instance) {
    const cookies = parseCookies(request.headers.get("cookie"));
    const session = sessionCookie(cookies, instance);
    const bound = session !== undefined && owners.verify(instance.user, session.value, cookies.get(OWNER_COOKIE));
    return { session, bound };
  }

  /** Does the request carry a session cookie for the instance whose owner binding names its person? */
  function bound(request: Request, instance: Instance): boolean {
    return sessionOf(request, instance).bound;
  }

  /**
   * A navigation that started its instance and will pair when it is ready (no
   * session of its own): the credential is minted during the start, and
   * dropped if the start fails.
   */
  function ahead(request: Request, start: Pick<Start, "instance" | "watch">): void {
    const { instance } = start;
    if (bound(request, instance)) return;
    pairing.mintAhead(instance);
    start.watch((changed) => {
      if (changed.outcome === "failed") pairing.dropAhead(instance.user);
    });
  }

  function decide(asking: Asking): MaybePromise<SessionDecision> {
    const { request, record, instance } = asking;
    const { session, bound } = sessionOf(request, instance);
    if (session !== undefined && !bound) {
      log.log("info", "session_cookie_not_bound", { request_id: record.id, user: instance.user });
    }
    if (session === undefined || !bound) {
      return record.html
        ? pairing.pair(instance)
        : new DispatchError("no_session", `${request.method} ${record.url.pathname} without a session`);
    }
    const { name, value } = session;
    if (!record.html && !record.upgrade) return new ProxyWith(name);
    if (sessions.isValid(instance.port, value) && record.url.pathname !== "/pair") {
      metrics.sessionChecks.inc("cached");
      return new ProxyWith(name);
    }
    return askInstance(asking, name, value);
  }

  /**
   * The instance refused an upgrade this gate let through (on a cached answer,
   * or one that went stale since): a 401 if it has dropped the session, else
   * the bridge's own error.
   */
  async function refusedUpgrade(request: Request, instance: Instance, refused: DispatchError): Promise<DispatchError> {
    const session = sessionCookie(parseCookies(request.headers.get("cookie")), instance);
    if (session === undefined) return refused;
    const word = await instanceWord(instance, session.name, session.value);
    return word.state === "invalid" ? sessionGone(instance, session.value) : refused;
  }

  return { decide, ahead, bound, refusedUpgrade };
}
