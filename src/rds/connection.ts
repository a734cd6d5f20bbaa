import { readFile } from "node:fs/promises";
import { type Logger, pino } from "pino";
import { backoffDelay, sleep } from "./backoff.js";
import {
  checkPrivateKey,
  type RdsConnectionOptions,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
} from "./connection-options.js";
import { RdsError } from "./errors.js";
import { ReplyBudget } from "./reply-budget.js";
import { Semaphore } from "./semaphore.js";
import { SendWindow } from "./send-window.js";
import { type ExecResult, SshSession } from "./ssh-session.js";

export type { RdsConnectionOptions } from "./connection-options.js";
export type { ExecResult } from "./ssh-session.js";

/**
 * Commands up to this long are logged whole at debug level (every single-object operation's line
 * is); a longer one is cut here, with its length.
 */
export const LOGGED_COMMAND_CHARS = 2000;

/**
 * The owner of the SSH connection(s) to one RouterOS device. Lazy: nothing is opened until the
 * first command. It bounds concurrent exec channels, reuses connections, keeps idle ones alive
 * with a cheap command, reconnects with jittered exponential backoff, and never moves a command
 * that is in flight: a connection found dead is retired, commands on it finish or fail there,
 * and new commands go to a new connection.
 *
 * `exec` is transport only: it returns RouterOS's text, which may be an error message (RouterOS
 * exits 0 on errors). Classification and retries live in the command runner (runner.ts).
 */

export interface ExecOptions {
  /** Epoch ms by which the caller needs an answer; the command timeout is derived from it. */
  deadline?: number;
  signal?: AbortSignal;
  /** Whether the command changes state: an interrupted change is reported as outcome-unknown. */
  mutating: boolean;
}

export interface ConnectionHealth {
  /** A connection is open and not known to be broken. */
  connected: boolean;
  lastError: { kind: string; message: string; at: Date } | null;
  /** Duration of the last successful command or keepalive, in ms. */
  lastLatencyMs: number | null;
  /** Connections opened after a connection was lost or an attempt failed. */
  reconnects: number;
  /** Commands currently running. */
  inFlight: number;
  /** Commands sent (including retries, excluding keepalives) since construction. */
  roundTrips: number;
  keepalives: number;
  openConnections: number;
  /** SHA256 fingerprint of the host key last accepted. */
  hostKeyFingerprint: string | null;
  /** Reply bytes held now by commands in flight, and the most ever held at once (`maxReplyBytesInFlight` bounds both). */
  replyBytesHeld: number;
  replyBytesPeak: number;
}

export class RdsConnection {
  readonly #options: ResolvedConnectionOptions;
  readonly #logger: Logger;
  readonly #permits: Semaphore;
  readonly #replyBudget: ReplyBudget;
  readonly #sendWindow: SendWindow;
  readonly #sessions = new Set<SshSession>();
  #connecting: Promise<SshSession> | null = null;
  #nextSessionId = 1;
  #failures = 0;
  #nextAttemptAt = 0;
  #lostSinceConnect = false;
  #keepaliveTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Aborts handshakes still running when close() is called. */
  readonly #closing = new AbortController();
  #inFlight = 0;
  #roundTrips = 0;
  #keepalives = 0;
  #reconnects = 0;
  #lastLatencyMs: number | null = null;
  #lastError: ConnectionHealth["lastError"] = null;
  #hostKeyFingerprint: string | null = null;

  constructor(options: RdsConnectionOptions) {
    this.#options = resolveConnectionOptions(options);
    this.#logger = (options.logger ?? pino({ level: "silent" })).child({
      rds: `${this.#options.host}:${this.#options.port}`,
    });
    this.#permits = new Semaphore(this.#options.maxChannels);
    this.#replyBudget = new ReplyBudget(this.#options.maxReplyBytesInFlight);
    this.#sendWindow = new SendWindow(this.#options.minChangeWindowMs, this.#options.commandTimeoutMs);
    if ("insecureSkipVerify" in this.#options.hostKey) {
      this.#logger.warn(
        "RouterOS host key verification is DISABLED: any server can impersonate the RDS; pin a fingerprint or a known_hosts file",
      );
    }
  }

  /** Commands sent so far (benchmarks report round trips per operation). */
  get roundTrips(): number {
    return this.#roundTrips;
  }

  health(): ConnectionHealth {
    const open = [...this.#sessions].filter((s) => !s.closed && !s.draining);
    return {
      connected: open.length > 0,
      lastError: this.#lastError,
      lastLatencyMs: this.#lastLatencyMs,
      reconnects: this.#reconnects,
      inFlight: this.#inFlight,
      roundTrips: this.#roundTrips,
      keepalives: this.#keepalives,
      openConnections: open.length,
      hostKeyFingerprint: this.#hostKeyFingerprint,
      replyBytesHeld: this.#replyBudget.held,
      replyBytesPeak: this.#replyBudget.peak,
    };
  }

  /**
   * Runs one command line and returns its output. Throws `RdsError` (connection, outcome-unknown,
   * transient, protocol).
   *
   * Two phases with separate bounds, so a long queue never turns into an unknown outcome:
   * 1. waiting for a free channel and a connection — nothing sent yet; bounded by the caller's
   *    deadline, or `channelWaitTimeoutMs` without one; giving up is `transient` ("not sent");
   * 2. the command itself — its timeout (`commandTimeoutMs`, capped by the caller's deadline)
   *    starts when it is sent. A change is sent only with at least `SendWindow.required()` left
   *    before the caller's deadline; with less it fails as not sent.
   */
  async exec(line: string, options: ExecOptions): Promise<ExecResult> {
    if (this.#closed)
      throw new RdsError("connection", "the RouterOS connection is closed", { retryable: false });
    const limit =
      options.deadline === undefined ? undefined : options.deadline - this.#options.deadlineMarginMs;
    const waitUntil = this.#waitUntil(line, limit, options.mutating);
    await this.#permits.acquire(waitUntil, options.signal, {
      // Earliest deadline first: the later commands of a call go before calls that came after it.
      order: limit ?? waitUntil,
      timeoutError: () => this.#notSent(line, limit, options.mutating, "no SSH channel became free"),
    });
    let session: SshSession | undefined;
    try {
      session = await this.#sessionWithRoom(waitUntil, options.signal);
      const deadline = this.#sendDeadline(line, limit, options.mutating);
      session.inFlight++;
      this.#inFlight++;
      this.#roundTrips++;
      const started = Date.now();
      const result = await session.exec(line, {
        deadline,
        signal: options.signal,
        mutating: options.mutating,
        maxOutputBytes: this.#options.maxOutputBytes,
        budget: this.#replyBudget,
      });
      this.#lastLatencyMs = Date.now() - started;
      this.#sendWindow.observe(this.#lastLatencyMs);
      this.#logCommand(line, this.#lastLatencyMs, session.id);
      return result;
    } catch (err) {
      const error = err instanceof RdsError ? err.withCommand(line) : err;
      this.#recordError(error);
      throw error;
    } finally {
      if (session) {
        session.inFlight--;
        this.#inFlight--;
        if (session.draining && session.inFlight === 0) session.close();
      }
      this.#permits.release();
    }
  }

  /**
   * The debug line of a command that was answered: the line and its round trip. A long line (a page
   * of a listing names a hundred paths, 12 KB) is logged shortened, with its length, and whole only
   * at trace level: every page would otherwise write, and a log reader parse, a line that size.
   */
  #logCommand(line: string, ms: number, session: number): void {
    if (!this.#logger.isLevelEnabled("debug")) return;
    const whole = line.length <= LOGGED_COMMAND_CHARS || this.#logger.isLevelEnabled("trace");
    const command = whole
      ? line
      : `${line.slice(0, LOGGED_COMMAND_CHARS)}… (${line.length} characters; whole at log level trace)`;
    this.#logger.debug({ command, ms, session }, "RouterOS command");
  }

  /**
   * Until when a command may wait for a channel and a connection: the caller's deadline (less the
   * time a change needs to be answered), else `channelWaitTimeoutMs` from now. A change whose
   * caller has no such time left fails here, before it queues.
   */
  #waitUntil(line: string, limit: number | undefined, mutating: boolean): number {
    if (limit === undefined) return Date.now() + this.#options.channelWaitTimeoutMs;
    if (!mutating) return limit;
    const until = limit - this.#sendWindow.required();
    if (until <= Date.now())
      throw this.#notSent(line, limit, mutating, "too little time before the deadline");
    return until;
  }

  /**
   * The deadline of a command about to be sent. One with too little time left to hear its answer
   * is not sent: a change needs `SendWindow.required()`, a read `requiredForRead()`.
   */
  #sendDeadline(line: string, limit: number | undefined, mutating: boolean): number {
    const now = Date.now();
    const deadline = Math.min(now + this.#options.commandTimeoutMs, limit ?? Number.POSITIVE_INFINITY);
    const required = mutating ? this.#sendWindow.required() : this.#sendWindow.requiredForRead();
    if (deadline - now < required || deadline <= now) {
      throw this.#notSent(line, limit, mutating, "a channel became free too close to the deadline");
    }
    return deadline;
  }

  /** The error of a command given up before it was sent: retryable, and nothing ran. */
  #notSent(line: string, limit: number | undefined, mutating: boolean, why: string): RdsError {
    const details = [
      limit === undefined
        ? `waited ${this.#options.channelWaitTimeoutMs} ms, the channel wait timeout`
        : `${Math.max(0, limit - Date.now())} ms left before the call's deadline`,
      `${this.#permits.inUse} of ${this.#permits.capacity} channels busy, ${this.#permits.waiting} waiting`,
    ];
    if (mutating && limit !== undefined)
      details.push(`a change is sent only with at least ${this.#sendWindow.required()} ms left`);
    return new RdsError(
      "transient",
      `not sent: ${why} (${details.join("; ")}); nothing reached the RDS, so retrying is safe`,
      { timedOut: true, notSent: true, command: line },
    );
  }

  /**
   * Runs the keepalive command now and returns its latency in ms: a readiness check that connects
   * when needed. Throws like `exec`.
   */
  async ping(options: { deadline?: number; signal?: AbortSignal } = {}): Promise<number> {
    const started = Date.now();
    await this.exec(this.#options.keepaliveCommand, { ...options, mutating: false });
    return Date.now() - started;
  }

  /** Closes every connection; commands still running end as outcome-unknown. Final. */
  close(): void {
    this.#closed = true;
    this.#closing.abort();
    if (this.#keepaliveTimer) clearInterval(this.#keepaliveTimer);
    this.#permits.failAll(
      new RdsError("connection", "the RouterOS connection was closed", { retryable: false, notSent: true }),
    );
    for (const session of this.#sessions) session.close();
  }

  #recordError(err: unknown): void {
    const kind = err instanceof RdsError ? err.kind : "unexpected";
    const message = err instanceof Error ? err.message : String(err);
    this.#lastError = { kind, message, at: new Date() };
  }

  /** A live connection with a free channel slot, opening one when all are busy (single-flight). */
  async #sessionWithRoom(deadline: number, signal: AbortSignal | undefined): Promise<SshSession> {
    for (;;) {
      if (this.#closed)
        throw new RdsError("connection", "the RouterOS connection is closed", { retryable: false });
      for (const session of this.#sessions) {
        if (!session.closed && !session.draining && session.inFlight < this.#options.channelsPerConnection) {
          return session;
        }
      }
      if (this.#connecting) {
        // Someone else is connecting; their result may have room for us too. Their failure is
        // not ours: we try ourselves next round, subject to the shared backoff.
        await settledWithin(this.#connecting, deadline, signal);
        continue;
      }
      this.#connecting = this.#connect(deadline, signal).finally(() => {
        this.#connecting = null;
      });
      await this.#connecting;
    }
  }

  async #connect(deadline: number, signal: AbortSignal | undefined): Promise<SshSession> {
    const wait = this.#nextAttemptAt - Date.now();
    if (wait > 0) {
      if (Date.now() + wait >= deadline) {
        throw new RdsError(
          "connection",
          `RouterOS at ${this.#options.host}:${this.#options.port} is unreachable (next attempt in ${wait} ms): ${this.#lastError?.message ?? "connection failed"}`,
          { timedOut: true },
        );
      }
      await sleep(wait, signal);
    }
    const id = this.#nextSessionId++;
    try {
      const { privateKey, passphrase } = await this.#loadKey();
      const session = await SshSession.open(id, {
        host: this.#options.host,
        port: this.#options.port,
        loginName: this.#options.loginOptions
          ? `${this.#options.username}+${this.#options.loginOptions}`
          : this.#options.username,
        privateKey,
        passphrase,
        hostKeyPolicy: this.#options.hostKey,
        deadline: Math.min(deadline, Date.now() + this.#options.connectTimeoutMs),
        signal: signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal,
      });
      this.#adopt(session);
      return session;
    } catch (err) {
      if (this.#closed)
        throw new RdsError("connection", "the RouterOS connection was closed", { retryable: false });
      this.#failures++;
      this.#lostSinceConnect = true;
      this.#nextAttemptAt = Date.now() + backoffDelay(this.#failures, this.#options.reconnectBackoff);
      this.#recordError(err);
      this.#logger.warn(
        { err: (err as Error).message, failures: this.#failures },
        "cannot connect to RouterOS",
      );
      throw err;
    }
  }

  #adopt(session: SshSession): void {
    if (this.#lostSinceConnect) this.#reconnects++;
    this.#lostSinceConnect = false;
    this.#failures = 0;
    this.#nextAttemptAt = 0;
    this.#hostKeyFingerprint = session.hostKeyFingerprint;
    this.#sessions.add(session);
    this.#logger.info({ session: session.id, hostKey: session.hostKeyFingerprint }, "connected to RouterOS");
    session.onClose((err) => {
      this.#sessions.delete(session);
      if (this.#closed || session.draining) return;
      this.#lostSinceConnect = true;
      this.#recordError(new RdsError("connection", `connection lost${err ? `: ${err.message}` : ""}`));
      this.#logger.warn({ session: session.id, err: err?.message }, "RouterOS connection lost");
    });
    if (this.#closed) session.close();
    this.#startKeepalive();
  }

  async #loadKey(): Promise<{ privateKey: Buffer; passphrase: string | undefined }> {
    const { privateKey: keySource, passphrase: passSource } = this.#options;
    let privateKey: Buffer;
    let passphrase: string | undefined;
    try {
      privateKey = Buffer.isBuffer(keySource) ? keySource : await readFile(keySource.path);
      passphrase =
        passSource === undefined || typeof passSource === "string"
          ? passSource
          : (await readFile(passSource.path, "utf8")).replace(/\r?\n$/, "");
      if (!Buffer.isBuffer(keySource) || typeof passSource === "object") {
        checkPrivateKey(privateKey, passphrase, Buffer.isBuffer(keySource) ? "the options" : keySource.path);
      }
    } catch (err) {
      throw new RdsError("connection", (err as Error).message, { retryable: false });
    }
    return { privateKey, passphrase };
  }

  #startKeepalive(): void {
    const interval = this.#options.keepaliveIntervalMs;
    if (interval === 0 || this.#keepaliveTimer !== null) return;
    this.#keepaliveTimer = setInterval(() => this.#keepaliveTick(), Math.max(100, Math.floor(interval / 2)));
    this.#keepaliveTimer.unref();
  }

  #keepaliveTick(): void {
    const now = Date.now();
    for (const session of this.#sessions) {
      const idle = session.inFlight === 0 && now - session.lastActivity >= this.#options.keepaliveIntervalMs;
      if (!idle || session.closed || session.draining || !this.#permits.tryAcquire()) continue;
      void this.#keepalive(session);
    }
  }

  async #keepalive(session: SshSession): Promise<void> {
    session.inFlight++;
    const started = Date.now();
    try {
      await session.exec(this.#options.keepaliveCommand, {
        deadline: started + Math.min(this.#options.connectTimeoutMs, this.#options.commandTimeoutMs),
        mutating: false,
        maxOutputBytes: 4096,
        budget: this.#replyBudget,
      });
      this.#keepalives++;
      this.#lastLatencyMs = Date.now() - started;
    } catch (err) {
      // Retire the connection; the next command opens a fresh one. Nothing in flight is moved.
      session.draining = true;
      this.#lostSinceConnect = true;
      this.#recordError(err);
      this.#logger.warn({ session: session.id, err: (err as Error).message }, "RouterOS keepalive failed");
    } finally {
      session.inFlight--;
      if (session.draining && session.inFlight === 0) session.close();
      this.#permits.release();
    }
  }
}

/** Waits for `promise` to settle, but no longer than the caller's own deadline or cancellation. */
function settledWithin(
  promise: Promise<unknown>,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: RdsError) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        done(
          new RdsError("transient", "deadline passed while waiting for a connection to RouterOS", {
            timedOut: true,
            notSent: true,
          }),
        ),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = () =>
      done(
        new RdsError("transient", "cancelled while waiting for a connection", {
          retryable: false,
          notSent: true,
        }),
      );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => done(),
      () => done(),
    );
  });
}
