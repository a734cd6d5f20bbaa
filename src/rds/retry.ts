import type { Logger } from "pino";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from "./backoff.js";
import { RdsError } from "./errors.js";

/**
 * The retry policy, in one place:
 * - RouterOS-reported transient failures and connection failures (nothing was sent) are retried;
 * - a read whose outcome is unknown (timed out, connection dropped) is retried: reading twice is harmless;
 * - a change whose outcome is unknown is never re-sent: the caller must re-read state and decide;
 * - everything else (not found, already exists, invalid input, no space, protocol) is final;
 * - retries wait with jittered exponential backoff and stop when the next attempt would start
 *   after the deadline.
 */

export interface RetryOptions {
  mutating: boolean;
  /** Epoch ms after which no attempt starts. */
  deadline: number;
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  maxAttempts?: number;
  logger?: Logger;
  /** For logs: what is being attempted. */
  description?: string;
}

export const DEFAULT_MAX_ATTEMPTS = 4;

export function shouldRetry(err: unknown, mutating: boolean): boolean {
  if (!(err instanceof RdsError) || !err.retryable) return false;
  switch (err.kind) {
    case "transient":
    case "connection":
      return true;
    case "outcome-unknown":
      return !mutating;
    default:
      return false;
  }
}

export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let previous: unknown;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      // A retry that found no time left to even send says less than the failure that caused it.
      if (previous !== undefined && isUnsentTimeout(err)) throw previous;
      if (n >= maxAttempts || !shouldRetry(err, options.mutating)) throw err;
      const delay = backoffDelay(n, options.backoff ?? DEFAULT_BACKOFF);
      if (Date.now() + delay >= options.deadline || options.signal?.aborted) throw err;
      options.logger?.info(
        { attempt: n, delayMs: delay, kind: (err as RdsError).kind, command: options.description },
        "retrying RouterOS command",
      );
      previous = err;
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

function isUnsentTimeout(err: unknown): boolean {
  return err instanceof RdsError && err.timedOut && (err.kind === "transient" || err.kind === "connection");
}
