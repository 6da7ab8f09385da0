// Which person a session cookie was minted for. At pairing the dispatcher sets
// a companion cookie `t3d_owner=<user>.<HMAC(secret, user, session value)>`;
// a session cookie whose companion does not name the current user (another
// person logged in on this browser, or no companion at all) is never forwarded
// to that user's instance: it is dropped and the browser pairs afresh. In a
// fleet the MAC covers this host's name too: a person moved to another host
// pairs there afresh, and their old instance's cookie never reaches the new
// one, even where the hosts share one secret.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CappedMap } from "../../lib/capped-map";
import type { Logger } from "../../lib/log";

export const OWNER_COOKIE = "t3d_owner";

export class OwnerBinding {
  /** Verified (user, session, owner) triples, so steady-state requests skip the HMAC. */
  private readonly verified = new CappedMap<string, true>(10_000);

  /** What the MAC covers beyond the user and session: this host's name ("" outside a fleet, as before fleets). */
  private readonly scope: string;

  constructor(
    private readonly secret: Buffer,
    host = "",
  ) {
    this.scope = host === "" ? "" : `\0${host}`;
  }

  private mac(user: string, sessionValue: string): string {
    const signed = `${user}\0${sessionValue}${this.scope}`;
    return createHmac("sha256", this.secret).update(signed).digest("base64url").slice(0, 32);
  }

  /** The companion cookie's value for a session minted for `user`. */
  sign(user: string, sessionValue: string): string {
    return `${user}.${this.mac(user, sessionValue)}`;
  }

  /** Does the companion say this session cookie was minted for `user`? */
  verify(user: string, sessionValue: string, owner: string | undefined): boolean {
    if (owner === undefined || !owner.startsWith(`${user}.`)) return false;
    // Keyed by the user too: a value verified for `a.b` must not count for `a`.
    const key = `${user}\0${owner}\0${sessionValue}`;
    if (this.verified.has(key)) return true;
    const given = Buffer.from(owner.slice(user.length + 1));
    const expected = Buffer.from(this.mac(user, sessionValue));
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    if (ok) this.verified.set(key, true);
    return ok;
  }
}

/**
 * The signing secret, kept in a file so a restart does not unbind every
 * browser. Created (0600) if missing; if it cannot be read or written, a
 * per-process secret is used and every browser re-pairs once after a restart.
 */
export function loadSecret(path: string, log: Logger): Buffer {
  try {
    const secret = readFileSync(path);
    if (secret.length >= 32) return secret;
  } catch {
    // Missing: create it below.
  }
  const secret = randomBytes(32);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, secret, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    log.log("warn", "secret_not_persisted", { path, reason: (error as Error).message });
    return secret;
  }
}
