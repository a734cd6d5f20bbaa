/**
 * Typed failures of the node-side volume operations. The node layer does not know gRPC; the Node
 * service maps each kind to its status code in one place.
 */
export type NodeErrorKind =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "out-of-range"
  | "internal";

export class NodeError extends Error {
  readonly kind: NodeErrorKind;

  constructor(kind: NodeErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NodeError";
    this.kind = kind;
  }
}

export const badArgument = (msg: string) => new NodeError("invalid-argument", msg);
export const missing = (msg: string) => new NodeError("not-found", msg);
export const conflict = (msg: string) => new NodeError("already-exists", msg);
export const notReady = (msg: string) => new NodeError("failed-precondition", msg);
export const broken = (msg: string, cause?: unknown) => new NodeError("internal", msg, { cause });
