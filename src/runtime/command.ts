// Running a command with a hard timeout, on whatever runtime started it (the
// runtime supplies the child). The argv is an array (no shell), so no element
// is ever re-parsed.

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A started child, as a runtime hands it over. */
export interface Spawned {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  exited: Promise<number | null>;
  kill(): void;
}

/** Output beyond this is cut: a credential is a few hundred bytes. */
const MAX_OUTPUT = 64 * 1024;

export async function runCommand(
  spawn: (argv: string[]) => Spawned,
  argv: string[],
  timeoutMs: number,
): Promise<CommandResult> {
  const child = spawn(argv);
  const finished = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]).then(([stdout, stderr, exitCode]) => ({
    exitCode,
    stdout: stdout.slice(0, MAX_OUTPUT),
    stderr: stderr.slice(0, MAX_OUTPUT),
    timedOut: false,
  }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The race also bounds the pipe reads: a grandchild that inherited stdout
  // could keep it open after the child itself is killed.
  const expired = new Promise<CommandResult>((resolve) => {
    timer = setTimeout(() => {
      child.kill();
      resolve({ exitCode: null, stdout: "", stderr: "", timedOut: true });
    }, timeoutMs);
  });
  try {
    return await Promise.race([finished, expired]);
  } finally {
    clearTimeout(timer);
  }
}
