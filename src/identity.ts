// The identity the front proxy asserts: Authentik sends the full email
// (`vbarzin@gmail.com`) while the table keys on the local part (`vbarzin`),
// matching the terminal stack's `${auth_user%%@*}`.
import { isUserName } from "./config/names";
import { DispatchError } from "./errors";

/** Header value → validated table key, or a typed error. Nothing unvalidated leaves here. */
export function identityFrom(header: string | null): string | DispatchError {
  if (header === null || header.trim() === "") {
    return new DispatchError("no_identity", "request without identity header");
  }
  const trimmed = header.trim();
  const at = trimmed.indexOf("@");
  const local = (at >= 0 ? trimmed.slice(0, at) : trimmed).toLowerCase();
  if (!isUserName(local)) {
    return new DispatchError(
      "bad_identity",
      `identity header does not name a valid user (${JSON.stringify(trimmed.slice(0, 80))})`,
    );
  }
  return local;
}
