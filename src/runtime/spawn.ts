// Bun-only: start a child for runCommand, and runCommand bound to Bun (what
// the Bun-only ops commands and their tests use).
import { type CommandResult, runCommand as runWith, type Spawned } from "./command";

export type { CommandResult } from "./command";

export function spawnBun(argv: string[]): Spawned {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { stdout: child.stdout, stderr: child.stderr, exited: child.exited, kill: () => child.kill("SIGKILL") };
}

export const runCommand = (argv: string[], timeoutMs: number): Promise<CommandResult> =>
  runWith(spawnBun, argv, timeoutMs);
