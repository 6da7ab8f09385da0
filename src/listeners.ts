// Who holds a TCP port: the owner uid of each LISTEN socket on it, read from
// /proc/net/tcp and /proc/net/tcp6 (world-readable on Linux; no privilege).
// A port is not proof of who listens on it: any account may bind a port its
// owner left free.
import { readFileSync } from "node:fs";

export interface Listener {
  /** The local address as /proc prints it (hex, host byte order per 32-bit word). */
  address: string;
  uid: number;
}

const LISTEN = "0A";
const TABLES = ["/proc/net/tcp", "/proc/net/tcp6"];

/**
 * Every LISTEN socket on `port`, from /proc text (exported for tests). The
 * table lists every socket (TIME_WAIT ones too: hundreds on a busy host), so
 * only the lines that mention the port are split.
 */
export function parseListeners(text: string, port: number): Listener[] {
  const needle = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  const found: Listener[] = [];
  let from = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, from)) {
    const end = text.indexOf("\n", at);
    from = end === -1 ? text.length : end;
    // sl local rem st tx:rx tr:when retrnsmt uid …
    const fields = text
      .slice(text.lastIndexOf("\n", at) + 1, from)
      .trim()
      .split(/\s+/);
    const local = fields[1];
    if (fields[3] === LISTEN && local?.endsWith(needle.trimEnd())) {
      found.push({ address: local.slice(0, -5), uid: Number(fields[7]) });
    }
  }
  return found;
}

/** The LISTEN sockets on `port` on this host, IPv4 and IPv6 (a host without IPv6 has no tcp6). */
export function listenersOn(port: number, tables: readonly string[] = TABLES): Listener[] {
  return tables.flatMap((path) => {
    try {
      return parseListeners(readFileSync(path, "latin1"), port);
    } catch {
      return [];
    }
  });
}

/** Why this process cannot see who listens (checked at start: the check must not fail silently), or undefined. */
export function listenersUnreadable(): string | undefined {
  try {
    readFileSync(TABLES[0] ?? "", "latin1");
    return undefined;
  } catch (error) {
    return `cannot read ${TABLES[0]} for the instance check: ${(error as Error).message}`;
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
