// OS account name → uid, from a passwd-format file (`accountsFile`, default
// /etc/passwd: root-owned, world-readable). Re-read at most every few seconds,
// so an account created after start is found.
import { readFileSync } from "node:fs";

const REREAD_MS = 10_000;

export class Accounts {
  private uids = new Map<string, number>();
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly path: string) {}

  uidOf(name: string): number | undefined {
    if (Date.now() - this.readAt >= REREAD_MS || !this.uids.has(name)) this.read();
    return this.uids.get(name);
  }

  private read(): void {
    // A miss re-reads at most once per interval: a flood of unknown names costs nothing.
    if (Date.now() - this.readAt < 1000) return;
    this.readAt = Date.now();
    try {
      const uids = new Map<string, number>();
      for (const line of readFileSync(this.path, "utf8").split("\n")) {
        const [name, , uid] = line.split(":");
        if (name && uid && /^\d+$/.test(uid)) uids.set(name, Number(uid));
      }
      this.uids = uids;
    } catch {
      // Unreadable: keep what was known (an unknown account is refused by the caller).
    }
  }
}
