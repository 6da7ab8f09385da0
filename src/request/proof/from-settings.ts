// The proof the settings ask for, with its keys loaded: every problem listed
// (the service does not start without a proof it can check).
import { readFileSync } from "node:fs";
import type { ListenAddress } from "../../config/setting-values";
import type { ProofSettings } from "../../config/settings";
import type { AddressCheck } from "../../lib/cidr";
import { Failure } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { parseJwks, RemoteKeys, type TokenKeys, type Unfetched } from "./keys";
import { type Proof, peerProof, secretProof, tokenProof } from "./proof";
import { TokenVerifier } from "./token";

/** Allowed clock skew between the front and this host for exp/nbf. */
const CLOCK_TOLERANCE_S = 30;
const JWKS_TIMEOUT_MS = 5000;
const JWKS_COOLDOWN_MS = 30_000;
/** Shorter secrets are guessable; Authentik's client secrets are 128 characters. */
const MIN_SECRET = 16;

type ProofFailure = Failure<"bad_proof_settings">;
const failure = (detail: string): ProofFailure => new Failure("bad_proof_settings", detail);

function readSecret(setting: string, path: string): Buffer | ProofFailure {
  if (path === "") return failure(`${setting} is not set`);
  try {
    const secret = readFileSync(path);
    const trimmed = Buffer.from(secret.toString("utf8").trim());
    return trimmed.length >= MIN_SECRET ? trimmed : failure(`${setting} ${path}: shorter than ${MIN_SECRET} bytes`);
  } catch (error) {
    return failure(`${setting} ${path}: ${(error as Error).message}`);
  }
}

/** The keys, and for a key set URL why its first fetch gave nothing. */
async function tokenKeys(
  proof: ProofSettings,
  log: Logger,
): Promise<{ keys: TokenKeys; unfetched?: Unfetched } | ProofFailure> {
  const sources = [proof.jwksUrl, proof.jwksFile, proof.jwtSecretFile].filter((s) => s !== "");
  if (sources.length !== 1) {
    return failure(`identityProof jwt needs exactly one of jwksUrl, jwksFile, jwtSecretFile (${sources.length} set)`);
  }
  if (proof.jwksUrl !== "") {
    const remote = new RemoteKeys(proof.jwksUrl, { timeoutMs: JWKS_TIMEOUT_MS, cooldownMs: JWKS_COOLDOWN_MS, log });
    // Not fatal: the front may start after us; tokens are refused until keys arrive.
    const unfetched = await remote.start();
    return { keys: { kind: "jwks", getKey: remote.getKey }, unfetched };
  }
  if (proof.jwksFile !== "") {
    let text: string;
    try {
      text = readFileSync(proof.jwksFile, "utf8");
    } catch (error) {
      return failure(`jwksFile ${proof.jwksFile}: ${(error as Error).message}`);
    }
    const keys = parseJwks(text);
    return keys instanceof Failure
      ? failure(`jwksFile ${proof.jwksFile}: ${keys.detail}`)
      : { keys: { kind: "jwks", getKey: keys } };
  }
  const secret = readSecret("jwtSecretFile", proof.jwtSecretFile);
  return secret instanceof Failure ? secret : { keys: { kind: "secret", secret: new Uint8Array(secret) } };
}

export async function proofFromSettings(
  settings: { proof: ProofSettings; identityHeader: string; trustedPeers: AddressCheck; listen: ListenAddress },
  log: Logger,
): Promise<Proof | Failure> {
  const { proof, identityHeader } = settings;
  if (proof.mode === "jwt") {
    const loaded = await tokenKeys(proof, log);
    if (loaded instanceof Failure) return loaded;
    const rules = { issuer: proof.issuer, audience: proof.audience, clockToleranceS: CLOCK_TOLERANCE_S };
    return tokenProof(new TokenVerifier(loaded.keys, rules), proof.tokenHeader, identityHeader, loaded.unfetched);
  }
  if (proof.mode === "secret") {
    const secret = readSecret("proofSecretFile", proof.secretFile);
    if (secret instanceof Failure) return secret;
    return secretProof(secret, proof.secretHeader ?? "", identityHeader);
  }
  if (settings.listen.kind === "tcp") {
    log.log("warn", "identity_by_peer_address", {
      detail: "identityProof peer on a TCP listener: any local account can act as any user",
    });
  }
  return peerProof(settings.trustedPeers, identityHeader, settings.listen.kind === "unix");
}
