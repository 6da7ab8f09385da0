// The token proof: the user comes from the token, a username header may only
// agree with it, and no token is no identity.
import { describe, expect, test } from "bun:test";
import { DispatchError } from "../../../../src/lib/errors";
import { tokenProof } from "../../../../src/request/proof/proof";
import { TokenVerifier } from "../../../../src/request/proof/token";
import { ec, jwk, jwksOf, localKeys, RULES, sign } from "../../../fixtures/tokens";

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
