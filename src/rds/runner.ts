import { type Logger, pino } from "pino";
import type { BackoffOptions } from "./backoff.js";
import { classifyReply } from "./classify.js";
import type { Condition, Menu, RouterOsCommand } from "./command.js";
import { printAsValueCommand, printDetailCommand, printJsonCommand } from "./command.js";
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

/**
 * Runs typed commands: sends them, classifies the reply into success or a typed error, and applies
 * the retry policy (retry.ts). Every RouterOS round trip of RdsClient goes through `run`.
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

  async #once(command: RouterOsCommand, call: CallOptions): Promise<string> {
    const observe = this.options.onCommand;
    if (!observe) return this.#attempt(command, call);
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const out = await this.#attempt(command, call);
      observe({ seconds: seconds(), outcome: "ok" });
      return out;
    } catch (err) {
      observe({ seconds: seconds(), outcome: err instanceof RdsError ? err.kind : "protocol" });
      throw err;
    }
  }

  async #attempt(command: RouterOsCommand, call: CallOptions): Promise<string> {
    const result = await this.transport.exec(command.line, {
      deadline: call.deadline,
      signal: call.signal,
      mutating: command.mutating,
    });
    const error = classifyReply(result.stdout, command.line) ?? classifyReply(result.stderr, command.line);
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
  ): Promise<PrintedItem[]> {
    switch (form) {
      case "json":
        return parseJsonRecords(await this.run(printJsonCommand(menu, condition), call));
      case "as-value":
        return parseAsValue(await this.run(printAsValueCommand(menu, condition), call));
      case "detail":
        return parseDetail(await this.run(printDetailCommand(menu, condition), call));
    }
  }
}
