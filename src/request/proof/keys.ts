// Where the front's token signing keys come from: a JWKS URL (Authentik's
// provider `…/application/o/<slug>/jwks/`), a JWKS file, or an HS256 secret
// file (a provider without a signing key signs with its client secret).
// A remote set is fetched at start and again only for a key id it does not
// know, at most once per cooldown, with a timeout; a failed fetch keeps the
// last good set. (jose's own remote set drops its keys when a refresh fails
// after its max age and refetches on every unknown kid while the URL is down.)
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { Failure } from "../../lib/errors";
import type { Logger } from "../../lib/log";

/** The JWKS document's shape (RFC 7517 §5); jose checks each key itself. */
const JwkSet = Type.Object({
  keys: Type.Array(Type.Object({ kty: Type.String({ minLength: 1 }) }, { additionalProperties: true })),
});

/** The keys to verify with: a symmetric secret (HS256) or a key set (RS256/ES256). */
export type TokenKeys = { kind: "secret"; secret: Uint8Array } | { kind: "jwks"; getKey: JWTVerifyGetKey };

/** A key set URL that did not answer with a key set (the last good set, if any, is kept). */
export type Unfetched = Failure<"jwks_unfetched">;

/** A JWKS document's text → a local key set, or why it is not one. */
export function parseJwks(text: string): JWTVerifyGetKey | Failure<"bad_jwks"> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return new Failure("bad_jwks", `not JSON: ${(error as Error).message}`);
  }
  if (!Value.Check(JwkSet, json)) return new Failure("bad_jwks", 'not a JWKS document ({"keys": [...]})');
  return createLocalJWKSet(json as JSONWebKeySet);
}

export interface RemoteOptions {
  timeoutMs: number;
  cooldownMs: number;
  log: Logger;
  fetch?: typeof fetch;
}

/** A remote key set that survives its URL being down. */
export class RemoteKeys {
  private local: JWTVerifyGetKey | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private pending: Promise<Unfetched | undefined> | undefined;

  constructor(
    private readonly url: string,
    private readonly options: RemoteOptions,
  ) {}

  /** The first fetch: the service starts even when it fails, and retries; the failure is logged and returned. */
  start(): Promise<Unfetched | undefined> {
    return this.refresh();
  }

  /** For jwtVerify: the key for a token's header, refreshing once per cooldown for an unknown kid. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.local) {
      try {
        return await this.local(header, token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      }
    }
    if (Date.now() - this.lastAttempt >= this.options.cooldownMs) await this.refresh();
    if (!this.local) throw new errors.JWKSNoMatchingKey("no key set fetched yet");
    return this.local(header, token);
  };

  private refresh(): Promise<Unfetched | undefined> {
    this.pending ??= this.fetchOnce().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchOnce(): Promise<Unfetched | undefined> {
    this.lastAttempt = Date.now();
    const fetched = await this.fetchSet();
    if (fetched instanceof Failure) {
      this.options.log.log("warn", "jwks_fetch_failed", {
        url: this.url,
        reason: fetched.detail,
        kept_last_good: this.local !== undefined,
      });
      return fetched;
    }
    this.local = fetched;
    this.options.log.log("info", "jwks_fetched", { url: this.url });
    return undefined;
  }

  private async fetchSet(): Promise<JWTVerifyGetKey | Unfetched> {
    const doFetch = this.options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(this.url, {
        redirect: "error",
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: { accept: "application/json, application/jwk-set+json" },
      });
    } catch (error) {
      return new Failure("jwks_unfetched", (error as Error).message);
    }
    if (response.status !== 200) return new Failure("jwks_unfetched", `answered ${response.status}`);
    const parsed = parseJwks(await response.text().catch((error: Error) => error.message));
    return parsed instanceof Failure ? new Failure("jwks_unfetched", parsed.detail) : parsed;
  }
}
