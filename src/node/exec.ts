import { execFile } from "node:child_process";

/** Per-call limits for an external command. */
export interface RunOptions {
  /** Aborts the command (SIGTERM) when the RPC is cancelled or its deadline passes. */
  signal?: AbortSignal;
  /** Upper bound for this one command. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with an argument vector, never through a shell. Resolves on exit status 0 and
 * rejects with a `CommandError` otherwise. Injected everywhere so unit tests can record argv.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options?: RunOptions,
) => Promise<RunResult>;

export class CommandError extends Error {
  readonly file: string;
  readonly args: readonly string[];
  /** Exit status, or null when the process was killed or could not start. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    file: string,
    args: readonly string[],
    exitCode: number | null,
    stdout: string,
    stderr: string,
    why: string,
  ) {
    const detail = stderr.trim() || stdout.trim() || why;
    super(`${file} ${args.join(" ")}: ${detail}`);
    this.name = "CommandError";
    this.file = file;
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

/** The production runner: `execFile` with a C locale so tool output parses the same everywhere. */
export const execFileRunner: CommandRunner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      {
        encoding: "utf8",
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        killSignal: "SIGTERM",
        signal: options.signal,
        env: { ...process.env, LC_ALL: "C" },
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code = typeof error.code === "number" ? error.code : null;
        const why = error.killed ? "killed (timeout or cancelled)" : error.message;
        reject(new CommandError(file, args, code, stdout ?? "", stderr ?? "", why));
      },
    );
    // A tool that asks a question (mkfs finding an old signature) must read end-of-file and
    // refuse, not wait for an answer until the timeout.
    child.stdin?.end();
  });

/** True when `err` is a command that ran and exited with one of `codes`. */
export function exitedWith(err: unknown, ...codes: number[]): err is CommandError {
  return err instanceof CommandError && err.exitCode !== null && codes.includes(err.exitCode);
}
