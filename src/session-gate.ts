// Stage: the session decision, in one place. A session cookie counts only if
// its owner binding names this user (another person's cookie is never
// forwarded). Without one, a navigation pairs and anything else gets a 401.
// A navigation or a WebSocket with one needs the instance's word, unless a
// "valid" answer is cached (never for `/pair`, where t3's page goes when its
// session is dead): only a definite "dead" re-pairs (a navigation) or refuses
// (a WebSocket); an unanswered check fails open. Nothing later pairs again.
import type { Instance } from "./config/table";
import { parseCookies } from "./cookies";
import { DispatchError } from "./errors";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import { OWNER_COOKIE, type OwnerBinding } from "./owner";
import type { Paired, Pairing } from "./pairing";
import type { CookieNames } from "./session";
import type { SessionCache } from "./session-cache";
import type { SessionVerdict as SessionState } from "./t3/client";

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

  async function askInstance(ask: Asking, name: string, value: string): Promise<SessionVerdict> {
    const { instance, requestId } = ask;
    const verdict = await deps.check(instance, `${name}=${value}`);
    metrics.sessionChecks.inc(verdict.state);
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
    sessions.forget(instance.port, value);
    pairing.undone(instance.user, value);
    if (ask.upgrade) return new DispatchError("no_session", "WebSocket with a dead session");
    log.log("info", "session_dead_repair", { request_id: requestId, user: instance.user, port: instance.port });
    return pairing.pair(instance);
  }

  return function decide(ask: Asking): SessionVerdict | Promise<SessionVerdict> {
    const { request, instance } = ask;
    const cookies = parseCookies(request.headers.get("cookie"));
    const name = cookieNames.find(instance.port, cookies.keys());
    const value = name === undefined ? undefined : cookies.get(name);
    const bound = value !== undefined && owners.verify(instance.user, value, cookies.get(OWNER_COOKIE));
    if (value !== undefined && !bound) {
      log.log("info", "session_cookie_not_bound", { request_id: ask.requestId, user: instance.user });
    }
    if (name === undefined || value === undefined || !bound) {
      return ask.html
        ? pairing.pair(instance)
        : new DispatchError("no_session", `${request.method} ${ask.url.pathname} without a session`);
    }
    if (!ask.html && !ask.upgrade) return { proxy: name };
    if (sessions.isValid(instance.port, value) && ask.url.pathname !== "/pair") {
      metrics.sessionChecks.inc("cached");
      return { proxy: name };
    }
    return askInstance(ask, name, value);
  };
}
