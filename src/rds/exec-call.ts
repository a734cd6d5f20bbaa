import type { ClientChannel } from "ssh2";
import { RdsError } from "./errors.js";
import type { ReplyBudget } from "./reply-budget.js";

export interface ExecCallOptions {
  deadline: number;
  signal?: AbortSignal;
  mutating: boolean;
  maxOutputBytes: number;
  /** Shared by every channel of a connection: what all replies in flight may hold together. */
  budget?: ReplyBudget;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status sent by the server; RouterOS sends 0 even when the command failed. */
  exitCode: number | null;
}

/**
 * One command on one exec channel: collects the reply within the output cap and settles exactly
 * once — with the reply, or with the error that says whether the command may have run.
 */
export class ExecCall {
  readonly result: Promise<ExecResult>;
  #resolve!: (result: ExecResult) => void;
  #reject!: (err: RdsError) => void;
  #settled = false;
  #channel: ClientChannel | null = null;
  #exitCode: number | null = null;
  #sawExit = false;
  #bytes = 0;
  readonly #stdout: Buffer[] = [];
  readonly #stderr: Buffer[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort = () => this.fail(this.unknown("cancelled after the command was sent"));

  constructor(
    readonly line: string,
    private readonly options: ExecCallOptions,
  ) {
    this.result = new Promise<ExecResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const remaining = Math.max(0, options.deadline - Date.now());
    this.#timer = setTimeout(
      () => this.fail(this.unknown(`no complete reply within ${remaining} ms`, true)),
      remaining,
    );
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The error for a command that was sent but not answered completely. */
  unknown(why: string, timedOut = false): RdsError {
    return new RdsError("outcome-unknown", `${why}; the command may or may not have run`, {
      command: this.line,
      timedOut,
    });
  }

  /** Wires the opened channel; `connectionClosed` tells a dropped connection from a normal end. */
  attach(channel: ClientChannel, connectionClosed: () => boolean): void {
    this.#channel = channel;
    if (this.#settled) {
      channel.close();
      return;
    }
    channel.on("data", (chunk: Buffer) => this.#collect(this.#stdout, chunk));
    channel.stderr.on("data", (chunk: Buffer) => this.#collect(this.#stderr, chunk));
    channel.on("exit", (code: unknown) => {
      this.#sawExit = true;
      this.#exitCode = typeof code === "number" ? code : null;
    });
    // ssh2 reports a dropped connection before it closes the channels; decide after it has.
    channel.on("close", () =>
      setImmediate(() => {
        if (this.#sawExit || !connectionClosed()) this.#succeed();
        else this.fail(this.unknown("the connection dropped before the reply completed"));
      }),
    );
  }

  fail(err: RdsError): void {
    if (!this.#finish()) return;
    this.#channel?.close();
    this.#reject(err);
  }

  #succeed(): void {
    if (!this.#finish()) return;
    this.#resolve({
      stdout: Buffer.concat(this.#stdout).toString("utf8"),
      stderr: Buffer.concat(this.#stderr).toString("utf8"),
      exitCode: this.#exitCode,
    });
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    // The reply's bytes leave the budget here: on success they are handed to the caller as one
    // string (parsed at once), on failure they are dropped.
    this.options.budget?.give(this.#bytes);
    clearTimeout(this.#timer);
    this.options.signal?.removeEventListener("abort", this.#onAbort);
    return true;
  }

  #collect(into: Buffer[], chunk: Buffer): void {
    if (this.#settled) return;
    const max = this.options.maxOutputBytes;
    if (this.#bytes + chunk.length > max) {
      // A change that printed that much did run, but not as expected; a read can be trusted to fail,
      // and the same read would fail again.
      const why = `reply exceeded ${max} bytes (the per-reply limit; a RouterOS listing this large is not expected)`;
      this.fail(
        this.options.mutating
          ? this.unknown(why)
          : new RdsError("too-large", why, { command: this.line, retryable: false }),
      );
      return;
    }
    const budget = this.options.budget;
    if (budget && !budget.tryTake(chunk.length)) {
      // Other replies in flight hold the rest of the budget: a read is worth trying again once
      // they are done.
      const why = `replies in flight would hold more than ${budget.capacity} bytes together (${budget.held} held)`;
      this.fail(
        this.options.mutating
          ? this.unknown(why)
          : new RdsError("transient", `${why}; try again`, { command: this.line }),
      );
      return;
    }
    this.#bytes += chunk.length;
    into.push(chunk);
  }
}
