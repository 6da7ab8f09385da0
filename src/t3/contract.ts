// What t3-dispatch relies on from `t3 serve` (see docs/t3-contract.md):
// the pairing endpoints in preference order, the session answer's shape, and
// the session cookie's name, which t3 ≥ 0.0.29 makes instance-specific.
import { Type } from "@sinclair/typebox";

/** 0.0.25 renamed bootstrap → browser-session; try the new name first, fall back on 404. */
export const PAIR_ENDPOINTS = ["/api/auth/browser-session", "/api/auth/bootstrap"] as const;
export type PairEndpoint = (typeof PAIR_ENDPOINTS)[number];

export const SESSION_PATH = "/api/auth/session";

/** The name up to 0.0.26 (web mode); later builds on loopback use `t3_session_<port>_<hash>`. */
export const DEFAULT_COOKIE_NAME = "t3_session";

/** `GET /api/auth/session` always answers 200 with at least this. */
export const SessionAnswer = Type.Object({
  authenticated: Type.Boolean(),
  auth: Type.Optional(
    Type.Object({
      sessionCookieName: Type.Optional(Type.String({ minLength: 1 })),
    }),
  ),
});

/** Is `name` a t3 session cookie name for the instance on `port`? */
export function isSessionCookieName(name: string, port: number): boolean {
  return name === DEFAULT_COOKIE_NAME || (name.startsWith(`${DEFAULT_COOKIE_NAME}_${port}_`) && name.length > 14);
}

/** The cookie name a `Set-Cookie` line sets. */
export function setCookieName(line: string): string {
  const eq = line.indexOf("=");
  return (eq < 0 ? line : line.slice(0, eq)).trim();
}
