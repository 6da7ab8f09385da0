// The proof the settings ask for, with its keys loaded: what cannot be
// checked is a Failure (the service does not start), and a key set URL that
// gives nothing at start is said on the proof (check reports it).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSettings, type Settings } from "../../../../src/config/settings";
import { Failure, Invalid } from "../../../../src/lib/errors";
import { memoryLogger } from "../../../../src/lib/log";
import { proofFromSettings } from "../../../../src/request/proof/from-settings";
import { ec, jwk, jwksOf } from "../../../fixtures/tokens";

const dir = mkdtempSync(join(tmpdir(), "t3d-proof-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settingsOf = (flags: Record<string, string>): Settings => {
  const resolved = resolveSettings({ flags });
  if (resolved instanceof Invalid) throw new Error(resolved.detail);
  return resolved.settings;
};
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe("proofFromSettings", () => {
  test("jwt needs exactly one key source", async () => {
    const none = await proofFromSettings(settingsOf({}), memoryLogger());
    expect(String(none)).toContain("needs exactly one of jwksUrl, jwksFile, jwtSecretFile (0 set)");
    const jwks = file("jwks.json", await jwksOf(await jwk(ec.publicKey, "k1")));
    const two = await proofFromSettings(settingsOf({ jwksFile: jwks, jwtSecretFile: jwks }), memoryLogger());
    expect(String(two)).toContain("(2 set)");
  });

  test("a JWKS file or an HS256 secret file gives a jwt proof; a short secret or a bad file does not", async () => {
    const jwks = file("keys.json", await jwksOf(await jwk(ec.publicKey, "k1")));
    expect(
      (await proofFromSettings(settingsOf({ jwksFile: jwks }), memoryLogger())) as { mode?: string },
    ).toMatchObject({ mode: "jwt" });
    const secret = file("secret", "s".repeat(40));
    expect(await proofFromSettings(settingsOf({ jwtSecretFile: secret }), memoryLogger())).toMatchObject({
      mode: "jwt",
    });
    const short = await proofFromSettings(settingsOf({ jwtSecretFile: file("short", "abc") }), memoryLogger());
    expect(String(short)).toContain("shorter than 16 bytes");
    const garbage = await proofFromSettings(settingsOf({ jwksFile: file("garbage.json", "{}") }), memoryLogger());
    expect(String(garbage)).toContain("not a JWKS document");
  });

  test("a key set URL that does not answer: a jwt proof that says so (tokens wait for keys)", async () => {
    // Port 9 on loopback: nothing listens, the connection is refused at once.
    const proof = await proofFromSettings(settingsOf({ jwksUrl: "http://127.0.0.1:9/jwks" }), memoryLogger());
    if (proof instanceof Failure) throw new Error(proof.detail);
    expect(proof.mode).toBe("jwt");
    expect(proof.unfetched?.kind).toBe("jwks_unfetched");
  });

  test("secret mode reads its file; peer mode on TCP is allowed with a warning", async () => {
    const secretProofResult = await proofFromSettings(
      settingsOf({ identityProof: "secret", proofSecretFile: file("front-secret", "f".repeat(32)) }),
      memoryLogger(),
    );
    expect(secretProofResult).toMatchObject({ mode: "secret" });
    const log = memoryLogger();
    expect(await proofFromSettings(settingsOf({ identityProof: "peer" }), log)).toMatchObject({ mode: "peer" });
    expect(log.lines.map((l) => l.event)).toEqual(["identity_by_peer_address"]);
  });
});
