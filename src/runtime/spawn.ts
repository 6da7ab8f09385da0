// Bun-only: start a child for runCommand, and runCommand bound to Bun (what
// the Bun-only ops commands and their tests use).
import { type ChildIO, type CommandResult, runCommand as runWith, type Spawned } from "./command";

export type { ChildIO, CommandResult } from "./command";

export function spawnBun(argv: string[], io: ChildIO = {}): Spawned {
  const child = Bun.spawn(argv, {
    stdin: io.stdin ?? "ignore",
    stdout: io.stdout ?? "pipe",
    stderr: "pipe",
    env: io.env,
  });
  return {
    stdout: typeof child.stdout === "number" || child.stdout === undefined ? undefined : child.stdout,
    stderr: child.stderr,
    exited: child.exited,
    kill: (signal) => child.kill(signal),
  };
}

export const runCommand = (argv: string[], timeoutMs: number, io?: ChildIO): Promise<CommandResult> =>
  runWith((args) => spawnBun(args, io), argv, timeoutMs);
