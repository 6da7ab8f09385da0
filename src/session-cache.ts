// Recent "this cookie is valid" answers, so document navigations do not each
// cost a session round trip. Keyed by a hash of port and cookie value: the raw
// token is never kept. Bounded in size; entries expire after the TTL.
import { createHash } from "node:crypto";

const MAX_ENTRIES = 10_000;

export class SessionCache {
  private readonly validUntil = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  private key(port: number, value: string): string {
    return createHash("sha256").update(`${port}\0${value}`).digest("base64url");
  }

  isValid(port: number, value: string): boolean {
    const key = this.key(port, value);
    const until = this.validUntil.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.validUntil.delete(key);
    return false;
  }

  remember(port: number, value: string): void {
    if (this.ttlMs <= 0) return;
    if (this.validUntil.size >= MAX_ENTRIES) {
      const oldest = this.validUntil.keys().next().value;
      if (oldest !== undefined) this.validUntil.delete(oldest);
    }
    this.validUntil.set(this.key(port, value), Date.now() + this.ttlMs);
  }

  forget(port: number, value: string): void {
    this.validUntil.delete(this.key(port, value));
  }
}
