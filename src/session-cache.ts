// Recent "this cookie is valid" answers, so document navigations do not each
// cost a session round trip. Keyed by port and cookie value as they are: a
// SHA-256 per navigation was a measurable share of its cost, and the process
// holds the cookie anyway. Bounded in size; entries expire after the TTL.

const MAX_ENTRIES = 10_000;

export class SessionCache {
  private readonly validUntil = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  private key(port: number, value: string): string {
    return `${port}\0${value}`;
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
