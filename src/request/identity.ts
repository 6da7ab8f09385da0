// The identity the front proves. Authentik sends a login that may be an email
// (`vbarzin@gmail.com`); the table keys either on the full identity or on the
// local part (`vbarzin`, the terminal stack's `${auth_user%%@*}`), the latter
// only for domains in `identityDomains` when that is set. The value is hostile
// until proven otherwise: nothing unvalidated leaves this module.
import { isDomain, isUserName } from "../config/names";
import { DispatchError } from "../lib/errors";

/** Longer than any real login; bounds the work done on a hostile header. */
const MAX_HEADER = 254;

export interface Identity {
  /** The whole identity, lower-cased: `vbarzin@gmail.com`, or `vbarzin` without a domain. */
  readonly full: string;
  /** Its local part: `vbarzin`. */
  readonly local: string;
  /** Its domain, if it has one: `gmail.com`. */
  readonly domain: string | undefined;
}

/** Proven identity text → a validated identity, or a typed error. */
export function identityFrom(claimed: string | null): Identity | DispatchError {
  if (claimed === null || claimed.trim() === "") {
    return new DispatchError("no_identity", "request without identity header");
  }
  const bad = (why: string) => new DispatchError("bad_identity", `identity ${why}`);
  if (claimed.length > MAX_HEADER) return bad(`longer than ${MAX_HEADER} characters`);
  const trimmed = claimed.trim();
  // Control characters, and anything outside printable ASCII (which covers
  // Unicode look-alikes such as Cyrillic "а" or full-width "ａ"), are refused.
  if (!/^[\x21-\x7e]+$/.test(trimmed)) return bad("has control, space or non-ASCII characters");
  const parts = trimmed.toLowerCase().split("@");
  if (parts.length > 2) return bad("has more than one @");
  const [local = "", domain] = parts;
  if (domain !== undefined && !isDomain(domain)) return bad(`domain is not a valid domain name`);
  if (!isUserName(local)) return bad(`local part is not a valid user name (${JSON.stringify(local.slice(0, 64))})`);
  return { full: domain === undefined ? local : `${local}@${domain}`, local, domain };
}
