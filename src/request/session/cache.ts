// Recent "this cookie is valid" answers, so document navigations do not each
// cost a session round trip. Keyed by port and cookie value as they are: a
// SHA-256 per navigation was a measurable share of its cost, and the process
// holds the cookie anyway. Bounded in size; entries expire after the TTL, and
// all of an instance's entries go when it is seen down or restarted (its
// sessions may be gone with it).

const MAX_ENTRIES = 10_000;

export class SessionCache {
  /** port → cookie value → valid until (ms). */
  private readonly byPort = new Map<number, Map<string, number>>();
  private size = 0;

  constructor(private readonly ttlMs: number) {}

  isValid(port: number, value: string): boolean {
    const entries = this.byPort.get(port);
    const until = entries?.get(value);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.forget(port, value);
    return false;
  }

  remember(port: number, value: string): void {
    if (this.ttlMs <= 0) return;
    if (this.size >= MAX_ENTRIES) this.evictOne();
    let entries = this.byPort.get(port);
    if (!entries) {
      entries = new Map();
      this.byPort.set(port, entries);
    }
    if (!entries.has(value)) this.size++;
    entries.set(value, Date.now() + this.ttlMs);
  }

  forget(port: number, value: string): void {
    const entries = this.byPort.get(port);
    if (!entries?.delete(value)) return;
    this.size--;
    if (entries.size === 0) this.byPort.delete(port);
  }

  /** Every answer about this instance: it went down or was replaced. */
  forgetInstance(port: number): void {
    this.size -= this.byPort.get(port)?.size ?? 0;
    this.byPort.delete(port);
  }

  private evictOne(): void {
    const [port, entries] = this.byPort.entries().next().value ?? [];
    const oldest = entries?.keys().next().value;
    if (port !== undefined && oldest !== undefined) this.forget(port, oldest);
  }
}
