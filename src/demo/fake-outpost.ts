// A stand-in for Authentik's outpost and provider: it signs each person's
// token with its own ES256 key (as a provider with a signing key does), serves
// the key set at the provider's JWKS URL, and answers forward-auth checks
// (Caddy's forward_auth, Traefik's forwardAuth) with the headers the real
// outpost sends: X-authentik-username, X-authentik-jwt, X-authentik-meta-jwks.
// Used by the demo's front, the browser test's Caddy and the test fixtures.
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWTPayload, SignJWT } from "jose";

export const OUTPOST_ISSUER = "https://auth.example.com/application/o/t3/";
export const OUTPOST_AUDIENCE = "t3-dispatch";
const JWKS_PATH = "/application/o/t3/jwks/";
const AUTH_PATH = "/outpost.goauthentik.io/auth/caddy";

export interface SignOptions {
  /** Claims to add or override (exp, nbf, iss, aud, preferred_username…). */
  claims?: JWTPayload;
  /** Another key id in the header (this outpost's own by default). */
  kid?: string;
}

export interface FakeOutpost {
  url: string;
  /** The id of its signing key. */
  kid: string;
  jwksUrl: string;
  /** The forward-auth endpoint: Basic credentials of a known person → 200 with the identity headers. */
  authUrl: string;
  jwks: JSONWebKeySet;
  /** A token for `username`, as the provider would issue it (valid 10 minutes). */
  sign(username: string, options?: SignOptions): Promise<string>;
  /** The headers the outpost adds for `username`. */
  headersFor(username: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startFakeOutpost(
  options: { port?: number; passwords?: Record<string, string>; identity?: (user: string) => string } = {},
): Promise<FakeOutpost> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = `fake-${crypto.randomUUID().slice(0, 8)}`;
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };
  const identity = options.identity ?? ((user: string) => `${user}@example.com`);
  let jwksUrl = "";

  const sign = (username: string, signOptions: SignOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: OUTPOST_ISSUER, aud: OUTPOST_AUDIENCE, iat: now, exp: now + 600 };
    return new SignJWT({ ...claims, preferred_username: username, ...signOptions.claims })
      .setProtectedHeader({ alg: "ES256", kid: signOptions.kid ?? kid, typ: "JWT" })
      .sign(privateKey);
  };
  const headersFor = async (username: string) => ({
    "x-authentik-username": username,
    "x-authentik-jwt": await sign(username),
    "x-authentik-meta-jwks": jwksUrl,
  });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === JWKS_PATH) return Response.json(jwks);
      if (url.pathname !== AUTH_PATH) return new Response(null, { status: 404 });
      const [scheme, encoded = ""] = (request.headers.get("authorization") ?? "").split(" ");
      const [user = "", password] = atob(scheme === "Basic" ? encoded : "").split(":");
      if (password === undefined || options.passwords?.[user] !== password) {
        return new Response("sign in\n", { status: 401, headers: { "www-authenticate": 'Basic realm="authentik"' } });
      }
      return new Response(null, { status: 200, headers: await headersFor(identity(user)) });
    },
  });
  server.unref();
  const base = `http://127.0.0.1:${server.port}`;
  jwksUrl = base + JWKS_PATH;
  return { url: base, kid, jwksUrl, authUrl: base + AUTH_PATH, jwks, sign, headersFor, stop: () => server.stop(true) };
}
