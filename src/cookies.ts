// The browser's Cookie header, read raw: the exact bytes t3 set are what the
// owner signature covers and what is forwarded (Elysia's cookie jar decodes
// values and parses JSON-looking ones, so it is not used on this path).

/** name → raw value; the first occurrence of a name wins, as browsers send the most specific first. */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== "" && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The Cookie header without the named cookies, or null when nothing is left. */
export function withoutCookies(header: string, names: ReadonlySet<string>): string | null {
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !names.has(part.slice(0, Math.max(0, part.indexOf("="))).trim()));
  return kept.length > 0 ? kept.join("; ") : null;
}
