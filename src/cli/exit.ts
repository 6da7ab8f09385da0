// How a subcommand ends: an exit code, or "running" for serve and demo, which
// a signal stops; and how it gives up: lines on stderr, and the code.
import type { Invalid } from "../lib/errors";

export type Exit = number | "running";

/** Input that cannot be used: each problem on its own line on stderr, and the code. */
export function refused(invalid: Invalid, code: number, command?: string): number {
  for (const problem of invalid.problems)
    process.stderr.write(`t3-dispatch${command ? ` ${command}` : ""}: ${problem}\n`);
  return code;
}

export function fail(command: string, message: string, code = 2): number {
  process.stderr.write(`t3-dispatch ${command}: ${message}\n`);
  return code;
}
