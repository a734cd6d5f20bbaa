import { type Logger, pino } from "pino";
import type { BackoffOptions } from "./backoff.js";
import { classifyReply } from "./classify.js";
import type { Condition, Menu, Proplist, RouterOsCommand } from "./command.js";
import {
  batchCommand,
  printAsValueCommand,
  printDetailCommand,
  printJsonCommand,
  splitBatchReply,
} from "./command.js";
import { protocolError, RdsError, type RdsErrorKind } from "./errors.js";
import { parseAsValue } from "./parse/as-value.js";
import { parseDetail } from "./parse/detail.js";
import { parseJsonRecords } from "./parse/json.js";
import type { PrintedItem } from "./parse/properties.js";
import { withRetries } from "./retry.js";
import type { ExecResult } from "./ssh-session.js";

/** What the runner needs from a connection; `RdsConnection` implements it. */
export interface CommandTransport {
  exec(
    line: string,
    options: { deadline?: number; signal?: AbortSignal; mutating: boolean },
  ): Promise<ExecResult>;
}

/** Per-call options of every operation. */
export interface CallOptions {
  /** Epoch ms by which the caller needs the answer (e.g. the gRPC deadline). */
  deadline?: number;
  signal?: AbortSignal;
}

/** How listings are requested: JSON (7.13+, exact and unambiguous), as-value, or print detail. */
export type ListingForm = "json" | "as-value" | "detail";

export interface RunnerOptions {
  logger?: Logger;
  retryBackoff?: BackoffOptions;
  maxAttempts?: number;
  /** Retry budget when the caller gives no deadline (ms). Default 60 000. */
  defaultDeadlineMs?: number;
  /** Told about every round trip (each attempt): its duration and outcome. For metrics; must not throw. */
  onCommand?: (event: CommandEvent) => void;
}

export interface CommandEvent {
  seconds: number;
  /** "ok", or the kind of the typed error the attempt ended with. */
  outcome: "ok" | RdsErrorKind;
}

/** The replies of a batch that ran (see `CommandRunner.batch`). */
export interface BatchReply {
  /** One reply per command that succeeded, in order. */
  replies: string[];
  /**
   * Set when a command failed after a change earlier in the same line had succeeded: that change
   * happened, so the line is not retried; `index` is the failed command's position. With
   * `readsFirst`, also when the line's first change failed for good after the reads before it.
   */
  failure?: { index: number; error: RdsError };
}

/** The listing command of `menu` in a form. */
export function listCommand(
  menu: Menu,
  condition: Condition | undefined,
  form: ListingForm,
  proplist?: Proplist,
): RouterOsCommand {
  switch (form) {
    case "json":
      return printJsonCommand(menu, condition, proplist);
    case "as-value":
      return printAsValueCommand(menu, condition, proplist);
    case "detail":
      return printDetailCommand(menu, condition, proplist);
  }
}

/** Parses a listing printed by `listCommand` in the same form. */
export function parseListing(text: string, form: ListingForm): PrintedItem[] {
  switch (form) {
    case "json":
      return parseJsonRecords(text);
    case "as-value":
      return parseAsValue(text);
    case "detail":
      return parseDetail(text);
  }
}

/**
 * Runs typed commands: sends them, classifies the reply into success or a typed error, and applies
 * the retry policy (retry.ts). Every RouterOS round trip of RdsClient goes through `run` (one
 * command) or `batch` (several in one exec line).
 */
export class CommandRunner {
  readonly #logger: Logger;

  constructor(
    private readonly transport: CommandTransport,
    private readonly options: RunnerOptions = {},
  ) {
    this.#logger = options.logger ?? pino({ level: "silent" });
  }

  async run(command: RouterOsCommand, call: CallOptions = {}): Promise<string> {
    const deadline = call.deadline ?? Date.now() + (this.options.defaultDeadlineMs ?? 60_000);
    return withRetries(() => this.#once(command, call), {
      mutating: command.mutating,
      deadline,
      signal: call.signal,
      backoff: this.options.retryBackoff,
      maxAttempts: this.options.maxAttempts,
      logger: this.#logger,
      description: command.line,
    });
  }

  /**
   * Sends several commands in one exec line (`batchCommand`) — one round trip — and returns each
   * one's reply. An error before any change took effect is thrown and retried like the error of
   * a single command; an error after a change succeeded comes back as `failure` (never retried:
   * re-sending the line would repeat the change). A mutating line whose outcome is unknown is
   * never re-sent.
   */
  async batch(
    commands: readonly RouterOsCommand[],
    call: CallOptions = {},
    options: { readsFirst?: boolean } = {},
  ): Promise<BatchReply> {
    const line = batchCommand(commands);
    const deadline = call.deadline ?? Date.now() + (this.options.defaultDeadlineMs ?? 60_000);
    const readsFirst = options.readsFirst ?? false;
    return withRetries(() => this.#observed(() => this.#batchAttempt(commands, line, call, readsFirst)), {
      mutating: line.mutating,
      deadline,
      signal: call.signal,
      backoff: this.options.retryBackoff,
      maxAttempts: this.options.maxAttempts,
      logger: this.#logger,
      description: line.line,
    });
  }

  async #batchAttempt(
    commands: readonly RouterOsCommand[],
    line: RouterOsCommand,
    call: CallOptions,
    readsFirst: boolean,
  ): Promise<BatchReply> {
    const stdout = await this.#attempt(line, call, false);
    const parts = splitBatchReply(stdout);
    const replies: string[] = [];
    for (const [index, part] of parts.entries()) {
      const command = commands[index];
      if (command === undefined) throw protocolError("more replies than commands", stdout, line.line);
      const error = classifyReply(part, command.line);
      if (error) {
        // The line stopped here; a change before it has happened and must not be sent again.
        if (commands.slice(0, index).some((c) => c.mutating)) return { replies, failure: { index, error } };
        // The reads before a change that failed for good answered: the caller wants them.
        if (readsFirst && command.mutating && !error.retryable) return { replies, failure: { index, error } };
        throw error;
      }
      replies.push(part);
    }
    if (replies.length < commands.length) {
      // Stopped without an error RouterOS would print: whether the changes ran is not known.
      const message = `only ${replies.length} of ${commands.length} commands answered`;
      throw line.mutating
        ? new RdsError("outcome-unknown", message, { command: line.line, routerText: stdout.slice(0, 500) })
        : protocolError(message, stdout, line.line);
    }
    return { replies };
  }

  async #once(command: RouterOsCommand, call: CallOptions): Promise<string> {
    return this.#observed(() => this.#attempt(command, call, true));
  }

  async #observed<T>(attempt: () => Promise<T>): Promise<T> {
    const observe = this.options.onCommand;
    if (!observe) return attempt();
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const out = await attempt();
      observe({ seconds: seconds(), outcome: "ok" });
      return out;
    } catch (err) {
      observe({ seconds: seconds(), outcome: err instanceof RdsError ? err.kind : "protocol" });
      throw err;
    }
  }

  /** One exec; `classify` false leaves the stdout to the caller (a batch classifies each part). */
  async #attempt(command: RouterOsCommand, call: CallOptions, classify: boolean): Promise<string> {
    const result = await this.transport.exec(command.line, {
      deadline: call.deadline,
      signal: call.signal,
      mutating: command.mutating,
    });
    const error =
      (classify ? classifyReply(result.stdout, command.line) : null) ??
      classifyReply(result.stderr, command.line);
    if (error) throw error;
    if (result.exitCode !== null && result.exitCode !== 0) {
      const text = `${result.stdout}${result.stderr}`.trim();
      // A non-zero exit without recognisable text: the change may have happened or not.
      throw command.mutating
        ? new RdsError("outcome-unknown", `command exited with status ${result.exitCode}: ${text}`, {
            command: command.line,
            routerText: text.slice(0, 500),
          })
        : protocolError(`command exited with status ${result.exitCode}`, text, command.line);
    }
    return result.stdout;
  }

  /** Lists the items of `menu` matching `condition` in the requested form; one round trip. */
  async list(
    menu: Menu,
    condition: Condition | undefined,
    form: ListingForm,
    call: CallOptions,
    proplist?: Proplist,
  ): Promise<PrintedItem[]> {
    return parseListing(await this.run(listCommand(menu, condition, form, proplist), call), form);
  }
}
