import { status } from "@grpc/grpc-js";

/**
 * An error that already knows its gRPC status. Services throw these for request-level problems
 * (bad input, missing object, conflicting name); everything else is mapped by `toStatusError`.
 */
export class CsiError extends Error {
  readonly code: status;

  constructor(code: status, message: string) {
    super(message);
    this.name = "CsiError";
    this.code = code;
  }
}

export const invalidArgument = (msg: string) => new CsiError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new CsiError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new CsiError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string) => new CsiError(status.FAILED_PRECONDITION, msg);
export const outOfRange = (msg: string) => new CsiError(status.OUT_OF_RANGE, msg);
export const resourceExhausted = (msg: string) => new CsiError(status.RESOURCE_EXHAUSTED, msg);
export const aborted = (msg: string) => new CsiError(status.ABORTED, msg);
export const unavailable = (msg: string) => new CsiError(status.UNAVAILABLE, msg);
export const unimplemented = (msg: string) => new CsiError(status.UNIMPLEMENTED, msg);
export const internal = (msg: string) => new CsiError(status.INTERNAL, msg);

/**
 * Error kinds raised by the layers below the CSI services (RouterOS client, storage layout).
 * They are matched structurally so this module stays the single place that maps them, without
 * the lower layers knowing about gRPC.
 */
export type BackendErrorKind =
  | "not-found"
  | "already-exists"
  | "no-space"
  | "invalid-input"
  | "transient"
  | "outcome-unknown"
  | "connection"
  | "protocol"
  | "too-large";

const backendCodes: Record<BackendErrorKind, status> = {
  "not-found": status.NOT_FOUND,
  "already-exists": status.ALREADY_EXISTS,
  "no-space": status.RESOURCE_EXHAUSTED,
  "invalid-input": status.INVALID_ARGUMENT,
  transient: status.UNAVAILABLE,
  // The change may or may not have happened; the caller must retry, and the retry re-reads state.
  "outcome-unknown": status.UNAVAILABLE,
  connection: status.UNAVAILABLE,
  protocol: status.INTERNAL,
  // gRPC's own answer to a message over the receiver's size limit.
  "too-large": status.RESOURCE_EXHAUSTED,
};

function backendKind(err: unknown): BackendErrorKind | undefined {
  if (!(err instanceof Error) || !("kind" in err)) return undefined;
  const kind = (err as { kind: unknown }).kind;
  return typeof kind === "string" && kind in backendCodes ? (kind as BackendErrorKind) : undefined;
}

export interface StatusError {
  code: status;
  message: string;
}

/** The one mapping from anything thrown inside an RPC to the status the caller receives. */
export function toStatusError(err: unknown, deadlinePassed = false): StatusError {
  if (err instanceof CsiError) return { code: err.code, message: err.message };
  const kind = backendKind(err);
  const message = err instanceof Error ? err.message : String(err);
  if (kind !== undefined) {
    if (deadlinePassed && (kind === "outcome-unknown" || kind === "connection" || kind === "transient")) {
      return { code: status.DEADLINE_EXCEEDED, message: `deadline exceeded: ${message}` };
    }
    return { code: backendCodes[kind], message };
  }
  return { code: status.INTERNAL, message: `internal error: ${message}` };
}
