// Stage one of the request path: is the asserted identity proven to come from
// the front? Three modes, picked by `identityProof`:
//   jwt    — the front's signed token (Authentik's X-authentik-jwt), verified;
//            the user is its `preferred_username`, and a username header that
//            disagrees is refused;
//   secret — a shared-secret header only the front adds, compared in constant time;
//   peer   — the peer's address is a trusted front (any local account can
//            forge this on loopback: kept for existing hosts, warned about).
// The result is the claimed identity text (validated by `identity`), or why not.
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressCheck } from "../../lib/cidr";
import { DispatchError } from "../../lib/errors";
import type { MaybePromise } from "../../lib/maybe-promise";
import type { Unfetched } from "./keys";
import type { TokenVerifier } from "./token";

export type ProofMode = "jwt" | "secret" | "peer";

export interface Proof {
  readonly mode: ProofMode;
  /** jwt with a key set URL: why it gave no key set at start (tokens are refused until it does). */
  readonly unfetched?: Unfetched;
  /** The proven identity text, or a typed refusal; a promise only for a token not seen before. */
  prove(request: Request, peer: string | undefined): MaybePromise<string | DispatchError>;
}

const noIdentity = () => new DispatchError("no_identity", "request without identity header");
const refuse = (reason: string, detail: string) => new DispatchError("bad_proof", detail, { reason });

export function tokenProof(
  verifier: TokenVerifier,
  tokenHeader: string,
  identityHeader: string,
  unfetched?: Unfetched,
): Proof {
  const believe = (claimed: string, header: string | null): string | DispatchError =>
    header === null || header.trim().toLowerCase() === claimed.toLowerCase()
      ? claimed
      : refuse("username_mismatch", "the username header names someone other than the token");
  return {
    mode: "jwt",
    unfetched,
    prove(request) {
      const header = request.headers.get(identityHeader);
      const token = request.headers.get(tokenHeader);
      if (token === null) return header === null ? noIdentity() : refuse("no_token", `no ${tokenHeader} header`);
      const verified = verifier.verify(token.trim());
      if (verified instanceof Promise)
        return verified.then((v) => (v instanceof DispatchError ? v : believe(v.user, header)));
      return verified instanceof DispatchError ? verified : believe(verified.user, header);
    },
  };
}

/** Constant-time, whatever the lengths: both sides are hashed to the same size first. */
function sameSecret(given: string, secret: Buffer): boolean {
  const digest = (value: Buffer | string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

export function secretProof(secret: Buffer, secretHeader: string, identityHeader: string): Proof {
  return {
    mode: "secret",
    prove(request) {
      const header = request.headers.get(identityHeader);
      if (header === null) return noIdentity();
      const given = request.headers.get(secretHeader);
      if (given === null) return refuse("no_secret", `no ${secretHeader} header`);
      return sameSecret(given, secret) ? header : refuse("bad_secret", `${secretHeader} does not match`);
    },
  };
}

/**
 * The peer's address decides. A peer without an address (a Unix socket,
 * whose file mode and group decide who connects) is trusted only when the
 * listener is a Unix socket.
 */
export function peerProof(trusted: AddressCheck, identityHeader: string, unixListener: boolean): Proof {
  return {
    mode: "peer",
    prove(request, peer) {
      const header = request.headers.get(identityHeader);
      if (header === null) return noIdentity();
      const ok = peer === undefined ? unixListener : trusted(peer);
      return ok ? header : new DispatchError("untrusted_peer", `identity header from ${peer ?? "an unknown peer"}`);
    },
  };
}
