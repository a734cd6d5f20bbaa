import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured JSON logs. Redaction by path is a second line of defence: request bodies are
 * redacted by message type before they reach the logger (see csi/redact.ts).
 */
export function createLogger(level: LogLevel = "info", destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { component: "rds-csi" },
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
