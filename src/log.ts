// Structured logging: one JSON object per line on stderr, so journald and log
// shippers can parse it. Callers pass fields, never pre-formatted strings with
// secrets in them: credentials and cookie values are never logged.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

type Sink = (line: string) => void;

const stderrSink: Sink = (line) => {
  process.stderr.write(`${line}\n`);
};

export function createLogger(sink: Sink = stderrSink): Logger {
  return {
    log(level, event, fields) {
      sink(
        JSON.stringify({
          ts: new Date().toISOString(),
          level,
          event,
          ...fields,
        }),
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
