// Talking to one t3 instance: exchanging a credential for a session cookie and
// asking whether a cookie is still valid. Web-standard fetch only; every call
// has a timeout because a just-started instance can accept and never answer.
import { Value } from "@sinclair/typebox/value";
import { DispatchError } from "../lib/errors";
import {
  isSessionCookieName,
  PAIR_ENDPOINTS,
  type PairEndpoint,
  SESSION_PATH,
  SessionAnswer,
  setCookieName,
} from "./contract";

export interface Exchanged {
  /** Every Set-Cookie of the 200, verbatim, to relay to the browser. */
  setCookies: string[];
  /** The session cookie's name as this instance sets it, if it set one. */
  cookieName: string | undefined;
  endpoint: PairEndpoint;
}

/**
 * POSTs the credential to each pairing endpoint in turn (in `order`, by default
 * the contract's preference); a 404 means "not in this version", try the next.
 */
export async function exchangeCredential(
  baseUrl: string,
  port: number,
  credential: string,
  timeoutMs: number,
  order: readonly PairEndpoint[] = PAIR_ENDPOINTS,
): Promise<Exchanged | DispatchError> {
  const body = JSON.stringify({ credential });
  for (const endpoint of order) {
    let response: Response;
    try {
      response = await fetch(baseUrl + endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return new DispatchError("exchange_unreachable", `POST ${endpoint} on port ${port}: ${(error as Error).message}`);
    }
    await response.body?.cancel();
    if (response.status === 404) continue;
    if (response.status !== 200) {
      return new DispatchError("exchange_rejected", `POST ${endpoint} on port ${port} answered ${response.status}`);
    }
    const setCookies = response.headers.getSetCookie();
    const cookieName = setCookies.map(setCookieName).find((name) => isSessionCookieName(name, port));
    return { setCookies, cookieName, endpoint };
  }
  return new DispatchError("exchange_rejected", `no pairing endpoint on port ${port} (all answered 404)`);
}

export type SessionState =
  | { state: "valid" | "invalid"; cookieName: string | undefined }
  | { state: "unknown"; reason: string };

/**
 * Asks the instance whether the browser's cookies carry a live session. Only a
 * definite `authenticated: false` is "invalid"; anything else is "unknown" and
 * the caller fails open.
 */
export async function checkSession(baseUrl: string, cookieHeader: string, timeoutMs: number): Promise<SessionState> {
  let answer: unknown;
  try {
    const response = await fetch(baseUrl + SESSION_PATH, {
      headers: { cookie: cookieHeader, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return { state: "unknown", reason: `status ${response.status}` };
    }
    answer = await response.json();
  } catch (error) {
    return { state: "unknown", reason: (error as Error).message };
  }
  if (!Value.Check(SessionAnswer, answer)) return { state: "unknown", reason: "unexpected session answer" };
  return {
    state: answer.authenticated ? "valid" : "invalid",
    cookieName: answer.auth?.sessionCookieName,
  };
}

/** The instance's `serverVersion` (answered without auth), or undefined if it does not answer. */
/** What an instance that answers without a usable version reports (never a valid version). */
export const NO_VERSION = "(no serverVersion)";

/**
 * The instance's `serverVersion`, verbatim (its owner controls it: callers
 * validate it before use); NO_VERSION when something answers without one
 * (a redirect is not followed); undefined when nothing answers.
 */
export async function fetchServerVersion(baseUrl: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(`${baseUrl}/.well-known/t3/environment`, {
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return NO_VERSION;
    }
    const body = (await response.json()) as { serverVersion?: unknown };
    return typeof body?.serverVersion === "string" ? body.serverVersion : NO_VERSION;
  } catch (error) {
    // An answer that is not JSON still means something is listening there.
    return (error as Error).name === "SyntaxError" ? NO_VERSION : undefined;
  }
}
