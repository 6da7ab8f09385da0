// Cookies that stay home. One browser origin is shared by every instance
// behind it, so the browser's Cookie header carries cookies that are not the
// receiving instance's business: the owner binding, other instances' session
// cookies (which that instance's owner could replay at 127.0.0.1:<port>), and
// the front's SSO cookies. Only the instance's own session cookie and cookies
// foreign to no one are forwarded. Coming back, an instance may not set the
// owner cookie, another instance's session cookie, or a `Domain=` cookie.

import type { Instance } from "../../config/table";
import { CappedMap } from "../../lib/capped-map";
import type { Logger } from "../../lib/log";
import { DEFAULT_COOKIE_NAME, setCookieName } from "../../t3/contract";
import type { CookieNames } from "../session/cookie-names";
import { OWNER_COOKIE } from "../session/owner";

/** The front's cookies, never forwarded (a setting adds prefixes). */
export const FRONT_COOKIE_PREFIXES = ["authentik_"];

const filtered = new CappedMap<string, string | null>(1024);

/** Is a cookie of this name someone else's: the owner binding, a t3 session cookie, a front cookie? */
function isForeign(name: string, frontPrefixes: readonly string[]): boolean {
  return name === OWNER_COOKIE || name.startsWith(DEFAULT_COOKIE_NAME) || frontPrefixes.some((p) => name.startsWith(p));
}

/**
 * The Cookie header for an instance whose session cookie is `sessionName`
 * (undefined: none is forwarded), or null when nothing is left. Remembered by
 * header text: a browser sends the same header on every request.
 */
export function cookiesForInstance(
  header: string | null,
  sessionName: string | undefined,
  frontPrefixes: readonly string[],
): string | null {
  if (!header) return null;
  const key = `${sessionName ?? ""}\0${header}`;
  const known = filtered.get(key);
  if (known !== undefined) return known;
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => {
      const name = part.slice(0, Math.max(0, part.indexOf("="))).trim();
      return name !== "" && (name === sessionName || !isForeign(name, frontPrefixes));
    });
  const result = kept.length > 0 ? kept.join("; ") : null;
  filtered.set(key, result);
  return result;
}

export interface DroppedCookie {
  name: string;
  reason: "owner_cookie" | "foreign_session" | "domain_attribute";
}

/** Splits an instance's Set-Cookie lines into those relayed and those dropped (and why). */
export function screenSetCookies(
  lines: readonly string[],
  isOwnSession: (name: string) => boolean,
): { kept: string[]; dropped: DroppedCookie[] } {
  const kept: string[] = [];
  const dropped: DroppedCookie[] = [];
  for (const line of lines) {
    const name = setCookieName(line);
    if (name === OWNER_COOKIE) dropped.push({ name, reason: "owner_cookie" });
    else if (name.startsWith(DEFAULT_COOKIE_NAME) && !isOwnSession(name))
      dropped.push({ name, reason: "foreign_session" });
    else if (/;\s*domain\s*=/i.test(line)) dropped.push({ name, reason: "domain_attribute" });
    else kept.push(line);
  }
  return { kept, dropped };
}

/**
 * The one screen for every Set-Cookie an instance sends, in a proxied answer
 * or a pairing exchange: the lines relayed. A dropped cookie is logged once
 * per instance and name, however often it is set.
 */
export class SetCookieScreen {
  /** Bounded: a hostile instance setting endless names only gets them logged again. */
  private readonly reported = new CappedMap<string, true>(10_000);

  constructor(
    private readonly cookieNames: Pick<CookieNames, "isOwn">,
    private readonly log: Logger,
  ) {}

  screen(instance: Instance, lines: readonly string[]): string[] {
    const { kept, dropped } = screenSetCookies(lines, (name) => this.cookieNames.isOwn(instance.port, name));
    for (const { name, reason } of dropped) {
      const key = `${instance.port}\0${name}\0${reason}`;
      if (this.reported.has(key)) continue;
      this.reported.set(key, true);
      this.log.log("warn", "set_cookie_dropped", { user: instance.user, port: instance.port, cookie: name, reason });
    }
    return kept;
  }
}
