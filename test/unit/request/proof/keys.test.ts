// A remote key set refreshes on an unknown kid once per cooldown and keeps
// its last good keys (the JWKS URL mocked by msw).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { JWK } from "jose";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { memoryLogger } from "../../../../src/lib/log";
import { RemoteKeys } from "../../../../src/request/proof/keys";
import { TokenVerifier } from "../../../../src/request/proof/token";
import { ec, jwk, other, RULES, reasonOf, sign } from "../../../fixtures/tokens";

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
