// Running a command with a hard timeout, on whatever runtime started it (the
// runtime supplies the child: each runtime's runCommand is commandRunner of its
// spawn). The argv is an array (no shell), so no element is ever re-parsed.

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Where a child's stdin/stdout go instead of the default (none in, a pipe out): an open file descriptor. */
export interface ChildIO {
  stdin?: number;
  stdout?: number;
  /** The whole environment of the child (default: this process's). */
  env?: Record<string, string>;
}

export type Signal = "SIGTERM" | "SIGKILL";

/** Runs argv to its end or the timeout; the one signature every caller (mint, ops) takes. */
export type CommandRunner = (argv: string[], timeoutMs: number, io?: ChildIO) => Promise<CommandResult>;

/** A started child, as a runtime hands it over (no stdout stream when it was sent to a file). */
export interface Spawned {
  stdout: ReadableStream<Uint8Array> | undefined;
  stderr: ReadableStream<Uint8Array>;
  exited: Promise<number | null>;
  kill(signal: Signal): void;
}

/** Output beyond this is cut: a credential is a few hundred bytes. */
const MAX_OUTPUT = 64 * 1024;

/**
 * After the timeout's SIGTERM, how long the child has before SIGKILL. SIGTERM
 * first because `sudo` relays it to the command it runs (the mint wrapper),
 * while a SIGKILL ends sudo alone and leaves the root wrapper running.
 */
export const KILL_GRACE_MS = 2000;

const text = (stream: ReadableStream<Uint8Array> | undefined) =>
  stream ? new Response(stream).text() : Promise.resolve("");

/** The runCommand of a runtime whose children `spawn` starts. */
export const commandRunner =
  (spawn: (argv: string[], io: ChildIO) => Spawned): CommandRunner =>
  async (argv, timeoutMs, io = {}) =>
    untilExitOrTimeout(spawn(argv, io), timeoutMs);

async function untilExitOrTimeout(child: Spawned, timeoutMs: number): Promise<CommandResult> {
  let exited = false;
  void child.exited.finally(() => {
    exited = true;
  });
  const finished = Promise.all([text(child.stdout), text(child.stderr), child.exited]).then(
    ([stdout, stderr, exitCode]) => ({
      exitCode,
      stdout: stdout.slice(0, MAX_OUTPUT),
      stderr: stderr.slice(0, MAX_OUTPUT),
      timedOut: false,
    }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The race also bounds the pipe reads: a grandchild that inherited stdout
  // could keep it open after the child itself is gone.
  const expired = new Promise<CommandResult>((resolve) => {
    timer = setTimeout(() => {
      child.kill("SIGTERM");
      // Never signal a pid that has exited (and may have been reused).
      const killer = setTimeout(() => exited || child.kill("SIGKILL"), KILL_GRACE_MS);
      (killer as { unref?: () => void }).unref?.();
      void child.exited.finally(() => clearTimeout(killer));
      resolve({ exitCode: null, stdout: "", stderr: "", timedOut: true });
    }, timeoutMs);
  });
  try {
    return await Promise.race([finished, expired]);
  } finally {
    clearTimeout(timer);
  }
}
