// Addresses against a list of CIDRs (IPv4, IPv6, IPv4-mapped IPv6): which
// peers may assert an identity (the front proxy's), parsed once from settings.

import { CappedMap } from "./capped-map";
import { Failure } from "./errors";

type Range = { v6: boolean; base: bigint; mask: bigint };

function ipv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function ipv6(text: string): bigint | undefined {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  let body = text;
  if (tail) {
    const v4 = ipv4(tail);
    if (v4 === undefined) return undefined;
    body = `${text.slice(0, -tail.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

/** An address as (family, number); IPv4-mapped IPv6 counts as IPv4. */
function parseAddress(text: string): { v6: boolean; value: bigint } | undefined {
  const v4 = ipv4(text);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = ipv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: v6 & 0xffffffffn };
  return { v6: true, value: v6 };
}

function parseRange(cidr: string): Range | Failure<"bad_cidr"> {
  const [address = "", bits] = cidr.split("/");
  const parsed = parseAddress(address);
  if (!parsed) return new Failure("bad_cidr", `${JSON.stringify(cidr)} is not an IP address or CIDR (10.0.0.0/8, ::1)`);
  const width = parsed.v6 ? 128 : 32;
  const prefix = bits === undefined ? width : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) {
    return new Failure("bad_cidr", `${JSON.stringify(cidr)} has a bad prefix length (0–${width})`);
  }
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - prefix)) - 1n);
  return { v6: parsed.v6, base: parsed.value & mask, mask };
}

export type AddressCheck = (address: string | undefined) => boolean;

/**
 * A check for the configured peers, or every CIDR it could not read. An unknown
 * address is not trusted here: only the peer proof decides about a Unix socket.
 */
export function cidrMatcher(cidrs: string[]): AddressCheck | Failure<"bad_cidr"> {
  const ranges: Range[] = [];
  const errors: string[] = [];
  for (const cidr of cidrs) {
    const range = parseRange(cidr);
    if (range instanceof Failure) errors.push(range.detail);
    else ranges.push(range);
  }
  if (errors.length > 0) return new Failure("bad_cidr", errors.join("; "));
  // Peers are few (the front proxy): remember each answer rather than redo BigInt math per request.
  const answers = new CappedMap<string, boolean>(4096);
  return (address) => {
    if (address === undefined) return false;
    const known = answers.get(address);
    if (known !== undefined) return known;
    const peer = parseAddress(address);
    const trusted = peer !== undefined && ranges.some((r) => r.v6 === peer.v6 && (peer.value & r.mask) === r.base);
    answers.set(address, trusted);
    return trusted;
  };
}
