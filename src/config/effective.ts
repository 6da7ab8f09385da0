// The effective configuration as `check` prints it: each setting's value and
// where it came from. What could carry a credential is redacted: a URL's
// password and its query values, wherever a URL appears in a value (the
// secrets themselves live in files, shown by path only).
import type { RawSettings } from "./setting-schema";
import type { Origins } from "./settings";

function redactUrl(word: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(word)) return word;
  try {
    const url = new URL(word);
    if (url.password !== "") url.password = "***";
    for (const key of new Set(url.searchParams.keys())) url.searchParams.set(key, "***");
    return url.href;
  } catch {
    return word;
  }
}

/** A setting's value with every URL in it redacted. */
const redact = (value: string): string => value.split(/(\s+)/).map(redactUrl).join("");

/** One line per setting: name, value (redacted; "" when empty), and its origin. */
export function effectiveSettings(raw: RawSettings, origins: Origins): string[] {
  const keys = Object.keys(origins) as Array<keyof RawSettings>;
  const width = Math.max(...keys.map((key) => key.length));
  return keys.map((key) => {
    const value = redact(String(raw[key]));
    return `${key.padEnd(width)}  ${value === "" ? '""' : value}  (${origins[key]})`;
  });
}
