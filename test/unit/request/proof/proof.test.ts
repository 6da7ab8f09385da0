// The front's signed token: each refusal has its own reason, the cache never
// outlives `exp`, and a remote key set refreshes on an unknown kid once per
// cooldown and keeps its last good keys (the JWKS URL mocked by msw).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { DispatchError, Failure } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { parseJwks, RemoteKeys, type TokenKeys } from "../../../../src/request/proof/keys";
import { tokenProof } from "../../../../src/request/proof/proof";
import { type TokenRules, TokenVerifier } from "../../../../src/request/proof/token";

const RULES: TokenRules = { issuer: "https://sso.test/", audience: "t3", clockToleranceS: 30 };
const ec = await generateKeyPair("ES256", { extractable: true });
const other = await generateKeyPair("ES256", { extractable: true });
const rsa = await generateKeyPair("RS256", { extractable: true });
const jwk = async (key: CryptoKey, kid: string): Promise<JWK> => ({ ...(await exportJWK(key)), kid });
const jwksOf = async (...keys: JWK[]) => JSON.stringify({ keys });

function localKeys(text: string): TokenKeys {
  const getKey = parseJwks(text);
  if (getKey instanceof Failure) throw new Error(getKey.detail);
  return { kind: "jwks", getKey };
}

interface Claims {
  user?: string;
  iss?: string;
  aud?: string;
  exp?: number | string;
  nbf?: number;
}
async function sign(key: CryptoKey, alg: string, kid: string, claims: Claims = {}): Promise<string> {
  const jwt = new SignJWT(
    claims.user === undefined ? { preferred_username: "alice" } : { preferred_username: claims.user },
  )
    .setProtectedHeader({ alg, kid })
    .setIssuer(claims.iss ?? RULES.issuer ?? "")
    .setAudience(claims.aud ?? RULES.audience ?? "");
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  else jwt.setExpirationTime("10m");
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(key);
}
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

async function reasonOf(verifier: TokenVerifier, token: string): Promise<string> {
  const result = await verifier.verify(token);
  if (!(result instanceof DispatchError)) return `verified as ${result.user}`;
  expect(result.kind).toBe("bad_proof");
  return String(result.fields?.reason);
}

describe("token verifier (ES256 key set)", async () => {
  const verifier = new TokenVerifier(localKeys(await jwksOf(await jwk(ec.publicKey, "k1"))), RULES);

  test("a good token names its preferred_username", async () => {
    expect(await reasonOf(verifier, await sign(ec.privateKey, "ES256", "k1"))).toBe("verified as alice");
  });

  const payload = { preferred_username: "alice", iss: RULES.issuer, aud: RULES.audience, exp: now() + 600 };
  const cases: Array<[string, () => Promise<string>, string]> = [
    ["alg none", async () => `${b64({ alg: "none" })}.${b64(payload)}.`, "alg_none"],
    [
      "HS256 signed with the public key's text (algorithm confusion)",
      async () =>
        new SignJWT(payload)
          .setProtectedHeader({ alg: "HS256", kid: "k1" })
          .sign(new TextEncoder().encode(JSON.stringify(await jwk(ec.publicKey, "k1")))),
      "alg_not_allowed",
    ],
    ["expired beyond the skew", () => sign(ec.privateKey, "ES256", "k1", { exp: now() - 120 }), "expired"],
    ["not yet valid", () => sign(ec.privateKey, "ES256", "k1", { nbf: now() + 600 }), "not_yet_valid"],
    ["wrong issuer", () => sign(ec.privateKey, "ES256", "k1", { iss: "https://evil.test/" }), "wrong_issuer"],
    ["wrong audience", () => sign(ec.privateKey, "ES256", "k1", { aud: "other-app" }), "wrong_audience"],
    ["unknown key id", () => sign(other.privateKey, "ES256", "k9"), "unknown_key"],
    ["another key under a known id", () => sign(other.privateKey, "ES256", "k1"), "bad_signature"],
    ["malformed", async () => "not.a.token", "malformed"],
    [
      "no expiry",
      async () =>
        new SignJWT({ preferred_username: "alice" })
          .setProtectedHeader({ alg: "ES256", kid: "k1" })
          .setIssuer(RULES.issuer ?? "")
          .setAudience(RULES.audience ?? "")
          .sign(ec.privateKey),
      "no_expiry",
    ],
    ["no username", () => sign(ec.privateKey, "ES256", "k1", { user: "" }), "no_username"],
  ];
  for (const [name, make, reason] of cases) {
    test(`refused: ${name} → ${reason}`, async () => {
      expect(await reasonOf(verifier, await make())).toBe(reason);
    });
  }

  test("within the clock skew an expired token still passes", async () => {
    expect(await reasonOf(verifier, await sign(ec.privateKey, "ES256", "k1", { exp: now() - 5 }))).toBe(
      "verified as alice",
    );
  });

  test("a verified token answers from the cache synchronously, never past its exp", async () => {
    const token = await sign(ec.privateKey, "ES256", "k1", { exp: now() + 2 });
    expect(verifier.verify(token)).toBeInstanceOf(Promise);
    await verifier.verify(token);
    const hit = verifier.verify(token);
    expect(hit).not.toBeInstanceOf(Promise);
    expect((hit as { user: string }).user).toBe("alice");
    await Bun.sleep(2100);
    // Past exp the cache entry is dropped and the token is checked again (still within the skew).
    expect(verifier.verify(token)).toBeInstanceOf(Promise);
  });
});

describe("token verifier (RS256 and HS256)", () => {
  test("an RS256 key set takes RS256 tokens and refuses HS256 ones", async () => {
    const verifier = new TokenVerifier(localKeys(await jwksOf(await jwk(rsa.publicKey, "r1"))), RULES);
    expect(await reasonOf(verifier, await sign(rsa.privateKey, "RS256", "r1"))).toBe("verified as alice");
    const hs = await sign(new TextEncoder().encode("x".repeat(32)) as unknown as CryptoKey, "HS256", "r1");
    expect(await reasonOf(verifier, hs)).toBe("alg_not_allowed");
  });

  test("a client secret takes HS256 tokens signed with it, refuses another secret and ES256", async () => {
    const secret = new TextEncoder().encode("the-provider-client-secret-0123456789");
    const verifier = new TokenVerifier({ kind: "secret", secret }, RULES);
    const signWith = (key: Uint8Array) => sign(key as unknown as CryptoKey, "HS256", "");
    expect(await reasonOf(verifier, await signWith(secret))).toBe("verified as alice");
    expect(await reasonOf(verifier, await signWith(new TextEncoder().encode("another-secret-0123456789abcdef")))).toBe(
      "bad_signature",
    );
    expect(await reasonOf(verifier, await sign(ec.privateKey, "ES256", "k1"))).toBe("alg_not_allowed");
  });
});

describe("token proof", async () => {
  const verifier = new TokenVerifier(localKeys(await jwksOf(await jwk(ec.publicKey, "k1"))), RULES);
  const proof = tokenProof(verifier, "x-authentik-jwt", "x-authentik-username");
  const ask = async (headers: Record<string, string>) => {
    const result = await proof.prove(new Request("http://d/", { headers }), "127.0.0.1");
    return result instanceof DispatchError ? `${result.kind}:${result.fields?.reason ?? ""}` : result;
  };

  test("the user comes from the token; a username header that agrees is fine, one that disagrees is refused", async () => {
    const token = await sign(ec.privateKey, "ES256", "k1");
    expect(await ask({ "x-authentik-jwt": token })).toBe("alice");
    expect(await ask({ "x-authentik-jwt": token, "x-authentik-username": "Alice" })).toBe("alice");
    expect(await ask({ "x-authentik-jwt": token, "x-authentik-username": "bob" })).toBe("bad_proof:username_mismatch");
  });

  test("a username header without a token is refused; neither is no identity", async () => {
    expect(await ask({ "x-authentik-username": "bob" })).toBe("bad_proof:no_token");
    expect(await ask({})).toBe("no_identity:");
  });
});

describe("remote key set", async () => {
  const URL = "https://sso.test/application/o/t3/jwks/";
  let served: JWK[] = [await jwk(ec.publicKey, "k1")];
  let status = 200;
  let fetches = 0;
  const server = setupServer(
    http.get(URL, () => {
      fetches++;
      return status === 200 ? HttpResponse.json({ keys: served }) : new HttpResponse("down", { status });
    }),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterEach(() => {
    fetches = 0;
    status = 200;
  });
  afterAll(() => server.close());

  const remote = async (cooldownMs: number) => {
    const logger = memoryLogger();
    const keys = new RemoteKeys(URL, { timeoutMs: 1000, cooldownMs, log: logger });
    await keys.start();
    expect(logger.lines.filter((l) => l.event === "jwks_fetch_failed")).toEqual([]);
    const verifier = new TokenVerifier({ kind: "jwks", getKey: keys.getKey }, RULES);
    return { verifier, logger };
  };

  test("a rotated key is fetched on its first token, with one fetch", async () => {
    served = [await jwk(ec.publicKey, "k1")];
    const { verifier } = await remote(0);
    served = [await jwk(ec.publicKey, "k1"), await jwk(other.publicKey, "k2")];
    fetches = 0;
    expect(await reasonOf(verifier, await sign(other.privateKey, "ES256", "k2"))).toBe("verified as alice");
    expect(fetches).toBe(1);
  });

  test("within the cooldown a flood of unknown kids costs no fetch", async () => {
    served = [await jwk(ec.publicKey, "k1")];
    const { verifier } = await remote(60_000);
    fetches = 0;
    for (let i = 0; i < 20; i++) {
      expect(await reasonOf(verifier, await sign(other.privateKey, "ES256", `unknown-${i}`))).toBe("unknown_key");
    }
    expect(fetches).toBe(0);
  });

  test("a failed refresh keeps the last good set", async () => {
    served = [await jwk(ec.publicKey, "k1")];
    const { verifier, logger } = await remote(0);
    status = 503;
    expect(await reasonOf(verifier, await sign(other.privateKey, "ES256", "k7"))).toBe("unknown_key");
    expect(logger.lines.some((line) => line.event === "jwks_fetch_failed" && line.kept_last_good === true)).toBe(true);
    expect(await reasonOf(verifier, await sign(ec.privateKey, "ES256", "k1"))).toBe("verified as alice");
  });
});
