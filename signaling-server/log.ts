/**
 * Structured logs: one JSON object per line on stdout. Payloads of relayed messages are never
 * logged (the server must not learn or leak what peers say to each other).
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** A log level name. */
export type LogLevel = keyof typeof LEVELS;

/** Writes structured log lines at or above a minimum level. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** A logger writing JSON lines to `write` (stdout by default). */
export function createLogger(min: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return {
    log(level, msg, fields) {
      if (LEVELS[level] < LEVELS[min]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
    },
  };
}
