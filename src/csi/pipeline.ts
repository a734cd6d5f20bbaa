import { randomUUID } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type { Logger } from "../log.js";
import { toStatusError } from "./errors.js";
import { redactSecretMaps } from "./redact.js";

/** What every handler receives besides its request. */
export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  readonly log: Logger;
  /** Epoch milliseconds by which the caller wants an answer; Infinity when it set none. */
  readonly deadline: number;
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
}

// biome-ignore lint/suspicious/noExplicitAny: handler maps are typed per service at their definition.
export type Handler<Req = any, Res = any> = (request: Req, ctx: RequestContext) => Promise<Res>;
export type ServiceHandlers = Record<string, Handler>;

/** Observer of finished calls (metrics); must not throw. */
export type CallObserver = (method: string, code: status, seconds: number) => void;

export interface PipelineOptions {
  logger: Logger;
  /** Proto-aware redaction of a request for logging; receives the full method path. */
  redactRequest?: (service: string, method: string, request: unknown) => unknown;
  observe?: CallObserver;
}

/**
 * Status messages travel in an HTTP/2 trailer; a message quoting a huge hostile value (a 300 KB
 * parameter key) stalled the connection, so messages are cut to a size a person can read anyway.
 */
const MAX_MESSAGE_CHARS = 1024;

function boundedMessage(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS
    ? message
    : `${message.slice(0, MAX_MESSAGE_CHARS)}… (${message.length - MAX_MESSAGE_CHARS} more characters)`;
}

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const d = call.getDeadline();
  if (d instanceof Date) return d.getTime();
  return typeof d === "number" && Number.isFinite(d) ? d : Number.POSITIVE_INFINITY;
}

function requestIdOf(call: grpc.ServerUnaryCall<unknown, unknown>): string {
  const given = call.metadata.get("x-request-id")[0];
  return typeof given === "string" && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID().slice(0, 8);
}

/**
 * The call's signal: aborted when the caller cancels, when its deadline passes, or by `finish`
 * once the answer is sent. `finish` also clears the deadline timer directly (a listener on the
 * signal for that would be one more event dispatched on every call).
 */
function callSignal(
  call: grpc.ServerUnaryCall<unknown, unknown>,
  deadline: number,
): { signal: AbortSignal; finish: () => void } {
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort(new Error("cancelled by caller")));
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(deadline)) {
    const ms = Math.max(0, deadline - Date.now());
    timer = setTimeout(() => controller.abort(new Error("deadline exceeded")), ms);
    timer.unref();
  }
  return {
    signal: controller.signal,
    finish: () => {
      if (timer !== undefined) clearTimeout(timer);
      controller.abort(new Error("call finished"));
    },
  };
}

/** A handler's context; the child logger it logs through is made only if it asks for one. */
function requestContext(
  root: Logger,
  bindings: { reqId: string; method: string },
  deadline: number,
  signal: AbortSignal,
): RequestContext {
  let child: Logger | undefined;
  return {
    requestId: bindings.reqId,
    method: bindings.method,
    get log() {
      child ??= root.child(bindings);
      return child;
    },
    deadline,
    signal,
  };
}

/**
 * Wraps a service's handlers into a grpc-js implementation. This is the only path by which any
 * RPC runs: request id, redacted request log, duration and code log, error-to-status mapping.
 */
export function wrapService(
  service: string,
  handlers: ServiceHandlers,
  options: PipelineOptions,
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void runCall(service, method, handler, call, callback, options);
    };
  }
  return impl;
}

async function runCall(
  service: string,
  method: string,
  handler: Handler,
  call: grpc.ServerUnaryCall<unknown, unknown>,
  callback: grpc.sendUnaryData<unknown>,
  options: PipelineOptions,
): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = requestIdOf(call);
  const deadline = deadlineOf(call);
  const { signal, finish } = callSignal(call, deadline);
  const bindings = { reqId: requestId, method };
  // The pipeline's own lines carry the call's bindings in their object, which prints exactly what
  // a child logger would print.
  const root = options.logger;
  const ctx = requestContext(root, bindings, deadline, signal);
  // The redacted copy of the request is made only for a log that shows it.
  if (root.isLevelEnabled("debug")) {
    const redacted = redactSecretMaps(
      options.redactRequest ? options.redactRequest(service, method, call.request) : call.request,
    );
    root.debug({ ...bindings, request: redacted }, "request");
  }
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const response = await handler(call.request, ctx);
    const elapsed = seconds();
    root.info({ ...bindings, code: "OK", durationMs: Math.round(elapsed * 1000) }, "done");
    options.observe?.(method, status.OK, elapsed);
    callback(null, response);
  } catch (err) {
    const mapped = toStatusError(err, Date.now() >= deadline);
    mapped.message = boundedMessage(mapped.message);
    const elapsed = seconds();
    const level = mapped.code === status.INTERNAL || mapped.code === status.UNKNOWN ? "error" : "warn";
    root[level](
      {
        ...bindings,
        code: status[mapped.code],
        durationMs: Math.round(elapsed * 1000),
        err: mapped.message,
      },
      "failed",
    );
    options.observe?.(method, mapped.code, elapsed);
    callback({ code: mapped.code, details: mapped.message, message: mapped.message });
  } finally {
    finish();
  }
}
