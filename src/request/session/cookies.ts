// The browser's Cookie header, read raw: the exact bytes t3 set are what the
// owner signature covers and what is forwarded (Elysia's cookie jar decodes
// values and parses JSON-looking ones, so it is not used on this path).
import { CappedMap } from "../../lib/capped-map";

/** Parsed headers by their text: a browser sends the same Cookie header on every request. */
const parsed = new CappedMap<string, ReadonlyMap<string, string>>(1024);
const NONE: ReadonlyMap<string, string> = new Map();

/** name → raw value; the first occurrence of a name wins, as browsers send the most specific first. */
export function parseCookies(header: string | null): ReadonlyMap<string, string> {
  if (!header) return NONE;
  let cookies = parsed.get(header);
  if (cookies === undefined) {
    cookies = parseCookieHeader(header);
    parsed.set(header, cookies);
  }
  return cookies;
}

function parseCookieHeader(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== "" && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
