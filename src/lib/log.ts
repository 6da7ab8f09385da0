// Structured logging: one JSON object per line on stderr, so journald and log
// shippers can parse it. Callers pass fields, never pre-formatted strings with
// secrets in them: credentials and cookie values are never logged.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

type Sink = (line: string, urgent: boolean) => void;

/**
 * Lines are gathered and written together a few milliseconds later: under
 * load that is one write for many requests instead of one syscall each.
 * Warnings and errors, and everything at exit, are written at once.
 */
function bufferedStderr(): Sink {
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    process.stderr.write(pending);
    pending = "";
  };
  process.on("exit", flush);
  return (line, urgent) => {
    pending += `${line}\n`;
    if (urgent || pending.length > 64 * 1024) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, 10);
      timer.unref?.();
    }
  };
}

export function createLogger(sink: Sink = bufferedStderr()): Logger {
  return {
    log(level, event, fields) {
      sink(
        JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields }),
        level !== "debug" && level !== "info",
      );
    },
  };
}

/** A logger that keeps lines in memory: for tests that assert on what was logged. */
export function memoryLogger(): Logger & {
  lines: Array<LogFields & { level: LogLevel; event: string }>;
} {
  const lines: Array<LogFields & { level: LogLevel; event: string }> = [];
  return {
    lines,
    log(level, event, fields) {
      lines.push({ level, event, ...fields });
    },
  };
}
