// The front's signed assertion (Authentik's `X-authentik-jwt`): verified with
// jose, never by hand. The algorithms follow the key type, so an HS256 token
// is never checked against an RSA/EC public key (algorithm confusion) and
// `alg: none` never verifies. Verified tokens are cached until their `exp`,
// so the steady state costs a map lookup, not a signature check.
import { decodeProtectedHeader, errors, jwtVerify } from "jose";
import { CappedMap } from "../../lib/capped-map";
import { DispatchError } from "../../lib/errors";
import type { TokenKeys } from "./keys";

export interface TokenRules {
  /** Expected `iss`, when set. */
  issuer?: string;
  /** Expected `aud`, when set. */
  audience?: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds. */
  clockToleranceS: number;
}

/** A verified token: whose it is, and until when it may be believed (ms since the epoch). */
export interface Verified {
  user: string;
  expiresAt: number;
}

const CACHE_MAX = 10_000;
const ASYMMETRIC = ["RS256", "ES256"];
const SYMMETRIC = ["HS256"];

const refuse = (reason: string, detail: string) => new DispatchError("bad_proof", detail, { reason });

/** Which refusal a jose error is. */
function reasonOf(error: unknown): DispatchError {
  const message = (error as Error).message;
  if (error instanceof errors.JWTExpired) return refuse("expired", message);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reason =
      { nbf: "not_yet_valid", iss: "wrong_issuer", aud: "wrong_audience", exp: "no_expiry" }[error.claim] ??
      "bad_claim";
    return refuse(reason, `${error.claim}: ${message}`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return refuse("unknown_key", message);
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse("bad_signature", message);
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse("alg_not_allowed", message);
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return refuse("malformed", message);
  return refuse("unverifiable", message);
}

export class TokenVerifier {
  private readonly cache = new CappedMap<string, Verified>(CACHE_MAX);
  private readonly algorithms: string[];

  constructor(
    private readonly keys: TokenKeys,
    private readonly rules: TokenRules,
  ) {
    this.algorithms = keys.kind === "secret" ? SYMMETRIC : ASYMMETRIC;
  }

  /** Synchronous for a token already verified and not expired; a promise otherwise. */
  verify(token: string): Verified | DispatchError | Promise<Verified | DispatchError> {
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      if (hit.expiresAt > Date.now()) return hit;
      this.cache.delete(token);
    }
    return this.verifyAnew(token);
  }

  private async verifyAnew(token: string): Promise<Verified | DispatchError> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (error) {
      return refuse("malformed", (error as Error).message);
    }
    if (typeof alg !== "string" || alg.toLowerCase() === "none") return refuse("alg_none", `alg ${String(alg)}`);
    if (!this.algorithms.includes(alg)) {
      return refuse("alg_not_allowed", `alg ${alg} with ${this.keys.kind} keys (allowed: ${this.algorithms})`);
    }
    const options = {
      algorithms: this.algorithms,
      issuer: this.rules.issuer,
      audience: this.rules.audience,
      clockTolerance: this.rules.clockToleranceS,
      requiredClaims: ["exp"],
    };
    let payload: Record<string, unknown>;
    try {
      payload = (
        this.keys.kind === "secret"
          ? await jwtVerify(token, this.keys.secret, options)
          : await jwtVerify(token, this.keys.getKey, options)
      ).payload;
    } catch (error) {
      return reasonOf(error);
    }
    const user = payload.preferred_username;
    if (typeof user !== "string" || user === "") return refuse("no_username", "no preferred_username claim");
    const verified = { user, expiresAt: Number(payload.exp) * 1000 };
    this.cache.set(token, verified);
    return verified;
  }
}
