// OS account name → uid, gid and home, from a passwd-format file (`accountsFile`, default
// /etc/passwd: root-owned, world-readable). Re-read at most every few seconds,
// so an account created after start is found.
import { readFileSync } from "node:fs";

const REREAD_MS = 10_000;

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export class Accounts {
  private entries = new Map<string, Account>();
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly path: string) {}

  uidOf(name: string): number | undefined {
    return this.entryOf(name)?.uid;
  }

  entryOf(name: string): Account | undefined {
    if (Date.now() - this.readAt >= REREAD_MS || !this.entries.has(name)) this.read();
    return this.entries.get(name);
  }

  private read(): void {
    // A miss re-reads at most once per interval: a flood of unknown names costs nothing.
    if (Date.now() - this.readAt < 1000) return;
    this.readAt = Date.now();
    try {
      const entries = new Map<string, Account>();
      for (const line of readFileSync(this.path, "utf8").split("\n")) {
        const [name, , uid, gid, , home = ""] = line.split(":");
        if (name && uid && gid && /^\d+$/.test(uid) && /^\d+$/.test(gid))
          entries.set(name, { name, uid: Number(uid), gid: Number(gid), home });
      }
      this.entries = entries;
    } catch {
      // Unreadable: keep what was known (an unknown account is refused by the caller).
    }
  }
}
