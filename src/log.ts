import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured JSON logs. Redaction by path is a second line of defence: request bodies are
 * redacted by message type before they reach the logger (see csi/redact.ts).
 *
 * Every line names the program once (`name`); a part of it adds `component` exactly once, as a
 * child of this root logger. pino writes a child's bindings after its parent's without merging
 * them, so binding a key that a parent already bound would print that key twice, which log
 * stores such as Elasticsearch reject (test/e2e/log-keys.test.ts parses a full run strictly).
 */
export function createLogger(level: LogLevel = "info", destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { name: "rds-csi" },
    redact: {
      paths: [
        "secrets",
        "*.secrets",
        "*.*.secrets",
        "passphrase",
        "*.passphrase",
        "privateKey",
        "*.privateKey",
      ],
      censor: "[REDACTED]",
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
