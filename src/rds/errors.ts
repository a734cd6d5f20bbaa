/**
 * Typed errors of the RouterOS client. Everything the client throws is an `RdsError`; callers
 * branch on `kind`, never on message text (the one place that reads RouterOS text is
 * classify.ts).
 */

export type RdsErrorKind =
  /** The named item, file or subvolume does not exist (`no such item`, …). */
  | "not-found"
  /** An item with that name already exists (`already have such item`, …). */
  | "already-exists"
  /** The pool has no room for the request. */
  | "no-space"
  /** RouterOS rejected the command line or a value, or the client refused a value before sending. */
  | "invalid-input"
  /** RouterOS reported a temporary condition, or a local wait gave up; trying again may succeed. */
  | "transient"
  /** The command was sent but no complete reply arrived (timeout, dropped connection, output cap). */
  | "outcome-unknown"
  /** No command was sent: connecting, authenticating or verifying the host key failed. */
  | "connection"
  /** RouterOS answered with something the client could not interpret. */
  | "protocol"
  /** A reply longer than the client accepts for one command (`maxOutputBytes`). */
  | "too-large";

export interface RdsErrorDetails {
  /** The RouterOS command line concerned, when there is one. It never holds secrets. */
  command?: string;
  /** RouterOS's own words (the first lines of its reply), when it answered. */
  routerText?: string;
  /** True when the error comes from a deadline or command timeout expiring. */
  timedOut?: boolean;
  /** Overrides the kind's default: e.g. an authentication failure is a connection error that retrying cannot fix. */
  retryable?: boolean;
  /**
   * True when the client gave up before the command reached RouterOS (no free channel in time,
   * too little time left, cancelled while waiting): nothing ran, whatever the command was.
   */
  notSent?: boolean;
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<RdsErrorKind> = new Set([
  "transient",
  "connection",
  "outcome-unknown",
]);

export class RdsError extends Error {
  readonly kind: RdsErrorKind;
  readonly command: string | undefined;
  readonly routerText: string | undefined;
  readonly timedOut: boolean;
  /**
   * Whether sending the same command again could succeed. For `outcome-unknown` this only holds
   * for reads: the retry policy never re-sends a change whose outcome is unknown.
   */
  readonly retryable: boolean;
  /** The command never reached RouterOS (see `RdsErrorDetails.notSent`). */
  readonly notSent: boolean;

  constructor(kind: RdsErrorKind, message: string, details: RdsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RdsError";
    this.kind = kind;
    this.command = details.command;
    this.routerText = details.routerText;
    this.timedOut = details.timedOut ?? false;
    this.retryable = details.retryable ?? RETRYABLE_BY_DEFAULT.has(kind);
    this.notSent = details.notSent ?? false;
  }

  /** A copy with the command line attached (errors raised below the command layer lack it). */
  withCommand(command: string): RdsError {
    if (this.command !== undefined) return this;
    return new RdsError(this.kind, this.message, {
      command,
      routerText: this.routerText,
      timedOut: this.timedOut,
      retryable: this.retryable,
      notSent: this.notSent,
      cause: this.cause,
    });
  }
}

export function isRdsError(err: unknown, kind?: RdsErrorKind): err is RdsError {
  return err instanceof RdsError && (kind === undefined || err.kind === kind);
}

/** A value the client refuses to send; raised before anything reaches RouterOS. */
export function invalidInput(message: string): RdsError {
  return new RdsError("invalid-input", message, { retryable: false });
}

/** RouterOS output that does not have the expected shape. */
export function protocolError(message: string, routerText?: string, command?: string): RdsError {
  return new RdsError("protocol", message, { routerText: routerText?.slice(0, 500), command });
}
