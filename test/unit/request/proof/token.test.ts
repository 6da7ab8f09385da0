// The front's signed token: each refusal has its own reason, and the cache
// never outlives `exp`.
import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { TokenVerifier } from "../../../../src/request/proof/token";
import { b64, ec, jwk, jwksOf, localKeys, now, other, RULES, reasonOf, rsa, sign } from "../../../fixtures/tokens";

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
