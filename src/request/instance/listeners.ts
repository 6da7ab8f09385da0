// Who holds a TCP port: the owner uid of each LISTEN socket on it, read from
// /proc/net/tcp and /proc/net/tcp6 (world-readable on Linux; no privilege).
// A port is not proof of who listens on it: any account may bind a port its
// owner left free.
import { readFileSync } from "node:fs";
import { Failure } from "../../lib/errors";

export interface Listener {
  /** The local address as /proc prints it (hex, host byte order per 32-bit word). */
  address: string;
  uid: number;
  /** The socket's inode: a new one on the same port means a new listener (the instance restarted). */
  inode: string;
}

const LISTEN = "0A";
const TABLES = ["/proc/net/tcp", "/proc/net/tcp6"];

/** port → its LISTEN sockets. */
export type ListenTable = ReadonlyMap<number, readonly Listener[]>;

/** The LISTEN sockets in /proc text, by port (exported for tests). */
export function parseListenTable(text: string, into = new Map<number, Listener[]>()): Map<number, Listener[]> {
  for (const line of text.split("\n")) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …: only the first ten fields are split.
    const fields = line.trim().split(/\s+/, 10);
    const local = fields[1];
    if (fields[3] !== LISTEN || local === undefined) continue;
    const port = Number.parseInt(local.slice(-4), 16);
    const listener = { address: local.slice(0, -5), uid: Number(fields[7]), inode: fields[9] ?? "" };
    const known = into.get(port);
    if (known) known.push(listener);
    else into.set(port, [listener]);
  }
  return into;
}

/**
 * Every LISTEN socket on this host, IPv4 and IPv6 (a host without IPv6 has no
 * tcp6). One read costs the kernel a walk of its whole socket hash per 4 KiB
 * page (about 1 ms each here), so callers share one snapshot for all ports.
 */
export function readListenTable(tables: readonly string[] = TABLES): ListenTable {
  const table = new Map<number, Listener[]>();
  for (const path of tables) {
    try {
      parseListenTable(readFileSync(path, "latin1"), table);
    } catch {
      // No such table (no IPv6): nothing listens there.
    }
  }
  return table;
}

/** Why this process cannot see who listens (checked at start: the check must not fail silently), or undefined. */
export function listenersUnreadable(): Failure<"listeners_unreadable"> | undefined {
  try {
    readFileSync(TABLES[0] ?? "", "latin1");
    return undefined;
  } catch (error) {
    const reason = (error as Error).message;
    return new Failure("listeners_unreadable", `cannot read ${TABLES[0]} for the instance check: ${reason}`);
  }
}

/** /proc's hex for an IPv4 address: four bytes, little-endian (127.0.0.1 → 0100007F). */
function ipv4Hex(address: string): string {
  return address
    .split(".")
    .reverse()
    .map((byte) => Number(byte).toString(16).toUpperCase().padStart(2, "0"))
    .join("");
}

/**
 * The /proc addresses whose listener would take a connection to `host`: the
 * wildcards, the address itself, and an IPv4 address as IPv4-mapped IPv6.
 * undefined for a host that is not a loopback literal (not checked).
 */
export function addressesFor(host: string): ReadonlySet<string> | undefined {
  const ANY4 = "00000000";
  const ANY6 = "0".repeat(32);
  const LOOP6 = "00000000000000000000000001000000";
  const mapped = (v4: string) => `0000000000000000FFFF0000${ipv4Hex(v4)}`;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return new Set([ANY4, ANY6, ipv4Hex(host), mapped(host)]);
  if (host === "::1" || host === "[::1]") return new Set([ANY6, LOOP6]);
  if (host === "localhost") return new Set([ANY4, ANY6, ipv4Hex("127.0.0.1"), mapped("127.0.0.1"), LOOP6]);
  return undefined;
}
