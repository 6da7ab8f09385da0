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
import type { SessionVerdict as SessionState } from "../../t3/client";
import type { Metrics } from "../metrics";
import type { Paired, Pairing } from "../pairing/pairing";
import type { SessionCache } from "./cache";
import type { CookieNames } from "./cookie-names";
import { parseCookies } from "./cookies";
import { OWNER_COOKIE, type OwnerBinding } from "./owner";

/** Proxy with this session cookie (its name), pair (the cookies to hand over), or refuse. */
export type SessionVerdict = { proxy: string } | Paired | DispatchError;

export interface SessionGateDeps {
  cookieNames: CookieNames;
  sessions: SessionCache;
  owners: OwnerBinding;
  pairing: Pick<Pairing, "pair" | "undone">;
  /** The instance's word on a session cookie. */
  check(instance: Instance, cookie: string): Promise<SessionState>;
  metrics: Pick<Metrics, "sessionChecks">;
  log: Logger;
}

export interface Asking {
  request: Request;
  url: URL;
  instance: Instance;
  requestId: string;
  /** A top-level navigation: the only request a pairing 302 may answer. */
  html: boolean;
  upgrade: boolean;
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
    const verdict = await deps.check(instance, `${name}=${value}`);
    metrics.sessionChecks.inc(verdict.state);
    return verdict;
  }

  /** The instance has dropped this session: no answer about it is kept, and a pairing that led to it was undone. */
  function dropped(instance: Instance, value: string): DispatchError {
    sessions.forget(instance.port, value);
    pairing.undone(instance.user, value);
    return new DispatchError("no_session", "WebSocket with a session the instance has dropped");
  }

  async function askInstance(asking: Asking, name: string, value: string): Promise<SessionVerdict> {
    const { instance, requestId } = asking;
    const verdict = await instanceWord(instance, name, value);
    if (verdict.state === "unknown") {
      log.log("warn", "session_check_failed_open", {
        request_id: requestId,
        user: instance.user,
        reason: verdict.reason,
      });
      return { proxy: name };
    }
    cookieNames.learn(instance.port, verdict.cookieName);
    if (verdict.state === "valid") {
      sessions.remember(instance.port, value);
      return { proxy: name };
    }
    const refusal = dropped(instance, value);
    if (asking.upgrade) return refusal;
    log.log("info", "session_dead_repair", { request_id: requestId, user: instance.user, port: instance.port });
    return pairing.pair(instance);
  }

  function decide(asking: Asking): SessionVerdict | Promise<SessionVerdict> {
    const { request, instance } = asking;
    const cookies = parseCookies(request.headers.get("cookie"));
    const session = sessionCookie(cookies, instance);
    const bound = session !== undefined && owners.verify(instance.user, session.value, cookies.get(OWNER_COOKIE));
    if (session !== undefined && !bound) {
      log.log("info", "session_cookie_not_bound", { request_id: asking.requestId, user: instance.user });
    }
    if (session === undefined || !bound) {
      return asking.html
        ? pairing.pair(instance)
        : new DispatchError("no_session", `${request.method} ${asking.url.pathname} without a session`);
    }
    const { name, value } = session;
    if (!asking.html && !asking.upgrade) return { proxy: name };
    if (sessions.isValid(instance.port, value) && asking.url.pathname !== "/pair") {
      metrics.sessionChecks.inc("cached");
      return { proxy: name };
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
    const verdict = await instanceWord(instance, session.name, session.value);
    return verdict.state === "invalid" ? dropped(instance, session.value) : refused;
  }

  return { decide, refusedUpgrade };
}
