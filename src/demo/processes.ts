import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

/** A child process of ours, with its output kept for error messages. */
export class Child {
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.output.push(line);
        if (this.output.length > 20_000) this.output.shift();
      });
    }
    this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves when a line matches; rejects if the process exits or the time runs out first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const found = this.output.find((l) => pattern.test(l));
      if (found) return resolve(found);
      const timer = setTimeout(
        () => done(new Error(`${this.name}: no line matching ${pattern} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onLine = () => {
        const line = this.output.find((l) => pattern.test(l));
        if (line) done(undefined, line);
      };
      const streams = [this.proc.stdout, this.proc.stderr].filter((s) => s !== null);
      const onExit = () => done(new Error(`${this.name} exited early:\n${this.tail()}`));
      const done = (err?: Error, line?: string) => {
        clearTimeout(timer);
        for (const s of streams) s.off("data", onLine);
        this.proc.off("exit", onExit);
        if (err) reject(err);
        else resolve(line as string);
      };
      for (const s of streams) s.on("data", () => setImmediate(onLine));
      this.proc.once("exit", onExit);
    });
  }

  /** Resolves like `work`, but rejects at once if this process exits before `work` settles. */
  whileRunning<T>(work: Promise<T>): Promise<T> {
    if (!this.running) return Promise.reject(new Error(`${this.name} is not running:\n${this.tail()}`));
    let onExit: (() => void) | undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = () => reject(new Error(`${this.name} exited early:\n${this.tail()}`));
      this.proc.once("exit", onExit);
    });
    return Promise.race([work, exited]).finally(() => {
      if (onExit) this.proc.off("exit", onExit);
    });
  }

  tail(lines = 20): string {
    return this.output.slice(-lines).join("\n");
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Only ever signals our own child. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (!this.running) return this.proc.exitCode;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * Starts a child in its own process group, so a Ctrl-C in the terminal reaches only us and we
 * stop the children in the right order (driver first: it must unmount before the pool goes).
 */
export function startChild(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Child {
  const proc = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: env ?? process.env,
    detached: true,
  });
  return new Child(name, proc);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
