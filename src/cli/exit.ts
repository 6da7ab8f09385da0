// How a subcommand ends: an exit code, or "running" for serve and demo, which
// a signal stops; and how it gives up: one line on stderr, and the code.

export type Exit = number | "running";

export function fail(command: string, message: string, code = 2): number {
  process.stderr.write(`t3-dispatch ${command}: ${message}\n`);
  return code;
}
