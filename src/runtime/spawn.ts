// Bun-only: run a command as a child process with a hard timeout. The argv is
// passed as an array (no shell), so no element is ever re-parsed.

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Output beyond this is cut: a credential is a few hundred bytes. */
const MAX_OUTPUT = 64 * 1024;

export async function runCommand(argv: string[], timeoutMs: number): Promise<CommandResult> {
  const child = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
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
      child.kill("SIGKILL");
      resolve({ exitCode: null, stdout: "", stderr: "", timedOut: true });
    }, timeoutMs);
  });
  try {
    return await Promise.race([finished, expired]);
  } finally {
    clearTimeout(timer);
  }
}
