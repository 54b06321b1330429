/**
 * Structured logs: one JSON object per line on stderr, so they can be grepped by eye and parsed
 * by machines alike.
 * @module
 */

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Where the server's logs go. */
export interface Logger {
  /** Writes one entry if `level` is at or above the logger's threshold. */
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** Whether `level` would be written, so callers can skip building fields on hot paths. */
  enabled?(level: LogLevel): boolean;
}

/**
 * A logger writing JSON lines (`{"ts":..,"level":..,"msg":..,...fields}`) through `write`.
 *
 * @example
 * ```ts
 * import { jsonLogger } from "./log.ts";
 * const logger = jsonLogger("info", (line) => console.error(line));
 * logger.log("info", "listening", { port: 2281 });
 * ```
 */
export function jsonLogger(minimum: LogLevel, write: (line: string) => void): Logger {
  return {
    log(level, message, fields) {
      if (rank[level] < rank[minimum]) return;
      write(JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...fields }));
    },
    enabled: (level) => rank[level] >= rank[minimum],
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { log() {}, enabled: () => false };

/** True when `text` names a log level. */
export function isLogLevel(text: string): text is LogLevel {
  return text in rank;
}
