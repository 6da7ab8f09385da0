// Bun-only: how to run this program's own subcommands as a child process,
// whether it is the compiled binary or `bun src/main.ts`.

export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}
