// The identity the front proxy asserts. Authentik sends the full email
// (`vbarzin@gmail.com`) while the table keys on the local part (`vbarzin`),
// matching the terminal stack's `${auth_user%%@*}`. The value is hostile until
// proven otherwise: nothing unvalidated leaves this module.
import { isUserName } from "./config/names";
import { DispatchError } from "./errors";

/** Longer than any real login; bounds the work done on a hostile header. */
const MAX_HEADER = 254;

/** Header value → validated table key, or a typed error. */
export function identityFrom(header: string | null): string | DispatchError {
  if (header === null || header.trim() === "") {
    return new DispatchError("no_identity", "request without identity header");
  }
  const bad = (why: string) => new DispatchError("bad_identity", `identity header ${why}`);
  if (header.length > MAX_HEADER) return bad(`longer than ${MAX_HEADER} characters`);
  const trimmed = header.trim();
  // Control characters, and anything outside printable ASCII (which covers
  // Unicode look-alikes such as Cyrillic "а" or full-width "ａ"), are refused.
  if (!/^[\x21-\x7e]+$/.test(trimmed)) return bad("has control, space or non-ASCII characters");
  const parts = trimmed.split("@");
  if (parts.length > 2) return bad("has more than one @");
  const [local = "", domain] = parts;
  if (domain !== undefined && domain === "") return bad("ends with @");
  const user = local.toLowerCase();
  if (!isUserName(user)) return bad(`local part is not a valid user name (${JSON.stringify(local.slice(0, 64))})`);
  return user;
}
