// At most `size` starts at once across the host: each `t3 serve` start is a
// busy Node process, and a reboot's first visits would otherwise start them
// all together. The rest wait their turn, first come first served.
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** undefined: the slot is this caller's now; else a promise that resolves when it is. `release()` gives it back. */
  acquire(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** Starts waiting for a slot right now. */
  get queued(): number {
    return this.waiting.length;
  }
}
