// The forms a setting's text takes once read: durations, listen addresses and
// comma-separated lists. Pure parsing, no knowledge of which setting uses which.
import { Failure } from "../lib/errors";

export type ListenAddress = { kind: "tcp"; hostname: string; port: number } | { kind: "unix"; path: string };

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration's milliseconds: `500ms`, `5s`, `2m`, `1h`, or a bare number of milliseconds. */
export function durationMs(value: string | number): number | Failure<"bad_duration"> {
  if (typeof value === "number") return value;
  const match = /^([0-9]+)(ms|s|m|h)?$/.exec(value);
  if (!match) return new Failure("bad_duration", "expected a duration (500ms, 5s, 2m, 1h, or milliseconds)");
  return Number(match[1]) * (UNIT_MS[match[2] ?? "ms"] ?? 1);
}

export function parseListen(value: string): ListenAddress | Failure<"bad_listen"> {
  if (value.startsWith("unix:")) {
    const path = value.slice("unix:".length);
    return path.startsWith("/")
      ? { kind: "unix", path }
      : new Failure("bad_listen", "expected an absolute unix socket path (unix:/run/t3-dispatch/http.sock)");
  }
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65535) {
    return new Failure("bad_listen", "expected host:port (127.0.0.1:3780, [::1]:3780) or unix:/absolute/path");
  }
  return { kind: "tcp", hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

/** A comma-separated setting as its items. */
export const list = (value: string): string[] =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
