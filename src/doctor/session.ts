import type { RouterOsCommand } from "../rds/command.js";
import { classifyReply, type RdsConnection, type RdsError } from "../rds/index.js";

/** Thrown before a command is sent once SIGINT or SIGTERM arrived: the run goes straight to cleanup. */
export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
  }
}

/** One command's answer as RouterOS gave it, the error the driver's classifier reads in it, and its time. */
export interface Reply {
  output: string;
  error: RdsError | null;
  ms: number;
}

/**
 * Sends the doctor's probe commands over the driver's own SSH connection owner and reports the raw
 * text, because a probe must see exactly what RouterOS printed. Commands are built by the driver's
 * command builder (validated, quoted). An interrupt never cuts a command in flight: it is honoured
 * before the next one, so cleanup knows what exists.
 */
export class ProbeSession {
  #interrupted: string | null = null;
  constructor(
    private readonly connection: RdsConnection,
    private readonly commandTimeoutMs: number,
  ) {}

  interrupt(signal: string): void {
    this.#interrupted ??= signal;
  }

  get interrupted(): string | null {
    return this.#interrupted;
  }

  /** Throws `Interrupted` when a signal arrived; probes call it between their steps too. */
  checkpoint(): void {
    if (this.#interrupted) throw new Interrupted(this.#interrupted);
  }

  /** Sends one command; connection failures throw (RdsError), RouterOS errors come back in `error`. */
  async send(command: RouterOsCommand): Promise<Reply> {
    this.checkpoint();
    return this.sendDuringCleanup(command);
  }

  /** As `send`, also after an interrupt: cleanup must still run. */
  async sendDuringCleanup(command: RouterOsCommand): Promise<Reply> {
    const started = performance.now();
    const result = await this.connection.exec(command.line, {
      mutating: command.mutating,
      deadline: Date.now() + this.commandTimeoutMs,
    });
    const output = result.stdout.replace(/\r\n/g, "\n");
    return { output, error: classifyReply(output, command.line), ms: performance.now() - started };
  }

  /** Round-trip time of the cheapest command, in ms. */
  async ping(): Promise<number> {
    this.checkpoint();
    return this.connection.ping({ deadline: Date.now() + this.commandTimeoutMs });
  }
}
