// Pairing on its own: one flight per user, the loop guard (failures and
// undone pairings, not logins), a listener swapped during the mint, the
// endpoint remembered per instance, the owner cookie's lifetime, and where the
// browser is sent afterwards. Mint and exchange are functions the test sets.
import { describe, expect, setSystemTime, test } from "bun:test";
import type { Instance } from "../../../../src/config/table";
import { DispatchError } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { SetCookieScreen } from "../../../../src/request/forward/cookie-filter";
import {
  AHEAD_FRESH_MS,
  type Paired,
  Pairing,
  type PairingDeps,
  pairedResponse,
  redirectTarget,
} from "../../../../src/request/pairing/pairing";
import { CookieNames } from "../../../../src/request/session/cookie-names";
import { OWNER_COOKIE, OwnerBinding } from "../../../../src/request/session/owner";
import type { Exchanged } from "../../../../src/t3/client";
import type { PairEndpoint } from "../../../../src/t3/contract";

const alice: Instance = { user: "alice", osUser: "alice", port: 4200 };
const owners = new OwnerBinding(Buffer.alloc(32, 9));

/** A Pairing whose instance sets `t3_session=s<n>` (with `attributes`) on the n-th exchange. */
function pairingWith(overrides: Partial<PairingDeps> = {}, attributes = "; Path=/; HttpOnly") {
  const calls = { mints: 0, exchanges: [] as PairEndpoint[][], credentials: [] as string[] };
  const cookieNames = overrides.cookieNames ?? new CookieNames();
  const log = overrides.log ?? memoryLogger();
  const pairing = new Pairing({
    genuine: () => undefined,
    async mint() {
      calls.mints++;
      await Bun.sleep(5);
      return `cred-${calls.mints}`;
    },
    async exchange(_instance, credential, order): Promise<Exchanged> {
      calls.exchanges.push([...order]);
      calls.credentials.push(credential);
      const n = calls.exchanges.length;
      return {
        setCookies: [`t3_session=s${n}${attributes}`],
        cookieName: "t3_session",
        endpoint: "/api/auth/bootstrap",
      };
    },
    cookieNames,
    owners,
    secureCookies: false,
    attempts: 3,
    windowMs: 60_000,
    log,
    screen: new SetCookieScreen(cookieNames, log),
    ...overrides,
  });
  return { pairing, calls };
}

const paired = (result: Paired | DispatchError): Paired => {
  if (result instanceof DispatchError) throw new Error(result.message);
  return result;
};

describe("Pairing", () => {
  test("concurrent first requests of one user share one mint", async () => {
    const { pairing, calls } = pairingWith();
    const results = await Promise.all(Array.from({ length: 10 }, () => pairing.pair(alice)));
    expect(calls.mints).toBe(1);
    expect(new Set(results.map((r) => paired(r).sessionValue))).toEqual(new Set(["s1"]));
  });

  test("the loop guard: after `attempts` failures in the window, no more mints", async () => {
    let mints = 0;
    const { pairing } = pairingWith({
      async mint() {
        mints++;
        return new DispatchError("mint_failed", "exit 1");
      },
    });
    for (let i = 0; i < 3; i++) expect(((await pairing.pair(alice)) as DispatchError).kind).toBe("mint_failed");
    expect(((await pairing.pair(alice)) as DispatchError).kind).toBe("pairing_loop");
    expect(mints).toBe(3);
  });

  test("good pairings are never strikes; a fresh session the instance calls dead is", async () => {
    const { pairing } = pairingWith();
    for (let i = 0; i < 5; i++) paired(await pairing.pair(alice)); // six private windows are six good logins
    pairing.undone("alice", "s1");
    pairing.undone("alice", "s2");
    pairing.undone("alice", "not-ours"); // an old cookie expiring: no strike
    paired(await pairing.pair(alice));
    pairing.undone("alice", "s6");
    expect(((await pairing.pair(alice)) as DispatchError).kind).toBe("pairing_loop");
  });

  test("a listener swapped during the mint: its error, and the credential never leaves", async () => {
    const swapped = new DispatchError("instance_impostor", "port 4200 is held by uid 1002");
    const { pairing, calls } = pairingWith({ genuine: () => swapped });
    expect(await pairing.pair(alice)).toBe(swapped);
    expect([calls.mints, calls.exchanges.length]).toEqual([1, 0]);
  });

  test("minted ahead (during a start): the next pairing uses that credential, once; the one after mints", async () => {
    const { pairing, calls } = pairingWith();
    pairing.mintAhead(alice);
    pairing.mintAhead(alice); // a second visit during the same start: still one
    expect(calls.mints).toBe(1);
    paired(await pairing.pair(alice));
    paired(await pairing.pair(alice));
    expect([calls.mints, calls.credentials]).toEqual([2, ["cred-1", "cred-2"]]);
  });

  test("dropped (its start failed), stale or failed: the credential minted ahead is never used", async () => {
    const { pairing, calls } = pairingWith();
    pairing.mintAhead(alice);
    pairing.dropAhead("alice");
    paired(await pairing.pair(alice));
    expect(calls.credentials).toEqual(["cred-2"]);
    pairing.mintAhead(alice);
    setSystemTime(new Date(Date.now() + AHEAD_FRESH_MS + 1000));
    try {
      paired(await pairing.pair(alice));
    } finally {
      setSystemTime();
    }
    expect(calls.credentials).toEqual(["cred-2", "cred-4"]);
    let mints = 0;
    const failing = pairingWith({
      async mint() {
        mints++;
        return mints === 1 ? new DispatchError("mint_failed", "exit 1") : `fresh-${mints}`;
      },
    });
    failing.pairing.mintAhead(alice);
    paired(await failing.pairing.pair(alice)); // the early mint's failure costs nothing: a fresh one
    expect(failing.calls.credentials).toEqual(["fresh-2"]);
  });

  test("the endpoint an instance answered on is tried first next time", async () => {
    const { pairing, calls } = pairingWith();
    await pairing.pair(alice);
    await pairing.pair(alice);
    expect(calls.exchanges).toEqual([
      ["/api/auth/browser-session", "/api/auth/bootstrap"],
      ["/api/auth/bootstrap", "/api/auth/browser-session"],
    ]);
  });

  test("the owner cookie lives as long as the session; Secure is added when the public side is https", async () => {
    const { pairing } = pairingWith({ secureCookies: true }, "; Path=/; Max-Age=2592000; HttpOnly");
    const { setCookies, sessionValue } = paired(await pairing.pair(alice));
    const owner = setCookies.find((line) => line.startsWith(`${OWNER_COOKIE}=`)) ?? "";
    expect(owner).toContain("Max-Age=2592000");
    expect(owners.verify("alice", sessionValue, owner.split(";")[0]?.slice(OWNER_COOKIE.length + 1))).toBe(true);
    expect(setCookies.every((line) => line.endsWith("; Secure"))).toBe(true);
  });

  test("a 200 without the session cookie is exchange_rejected, and a strike", async () => {
    const { pairing } = pairingWith({
      attempts: 1,
      exchange: async () => ({ setCookies: ["theme=dark"], cookieName: undefined, endpoint: "/api/auth/bootstrap" }),
    });
    expect(((await pairing.pair(alice)) as DispatchError).kind).toBe("exchange_rejected");
    expect(((await pairing.pair(alice)) as DispatchError).kind).toBe("pairing_loop");
  });
});

describe("after pairing", () => {
  test("the browser goes back to its own path and query, never off the origin or to /pair", () => {
    const at = (path: string) => redirectTarget(new URL(path, "https://t3.example"));
    expect(at("/project/1?tab=files")).toBe("/project/1?tab=files");
    expect(at("/pair")).toBe("/");
    expect(redirectTarget(new URL("https://t3.example//evil.example/x"))).toBe("/");
    expect(redirectTarget(new URL("https://t3.example/\\evil.example"))).toBe("/");
  });

  test("the 302 carries every cookie, uncached, with the request id", () => {
    const response = pairedResponse({ setCookies: ["a=1", "b=2"], cookieName: "a", sessionValue: "1" }, "/x", "r9");
    expect(response.status).toBe(302);
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect([response.headers.get("location"), response.headers.get("cache-control")]).toEqual(["/x", "no-store"]);
    expect(response.headers.get("x-request-id")).toBe("r9");
  });
});
