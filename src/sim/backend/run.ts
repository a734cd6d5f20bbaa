import { spawn } from "node:child_process";
import { type CommandHelper, HelperFailed, HelperUnavailable } from "./helper.js";

export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(
      `${command} failed (${code === null ? "killed" : `exit ${code}`}): ${stderr.trim() || "no output"}`,
    );
    this.name = "CommandFailed";
  }
}

export interface RunOptions {
  /**
   * Safe to run twice (it only reads): when the command helper dies with it in flight, it runs
   * again rather than failing as killed.
   */
  readonly repeatable?: boolean;
}

/** The helper that starts the emulator's tools, once the emulator has started one (helper.ts). */
let installed: CommandHelper | undefined;

/** Makes `run` start its tools through `helper` (undefined: start them from this process). */
export function useCommandHelper(helper: CommandHelper | undefined): void {
  installed = helper;
}

export function commandHelper(): CommandHelper | undefined {
  return installed;
}

/**
 * Runs a system tool without a shell and returns its stdout; a non-zero exit throws CommandFailed.
 * Through the command helper when one is installed and usable, else from this process: the caller
 * sees the same result either way.
 */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const helper = installed;
  if (!helper) return runHere(file, args);
  let answer: Awaited<ReturnType<CommandHelper["runCommand"]>>;
  try {
    answer = await helper.runCommand(file, args, options.repeatable === true);
  } catch (e) {
    // Never sent, or a read whose helper failed twice: start it here instead.
    if (e instanceof HelperUnavailable || (e instanceof HelperFailed && options.repeatable))
      return runHere(file, args);
    if (e instanceof HelperFailed)
      throw new CommandFailed([file, ...args].join(" "), null, `outcome unknown: ${e.message}`);
    throw e;
  }
  const stderr = answer.err.toString("utf8");
  if (answer.kind === "exit" && answer.code === 0) return answer.out.toString("utf8");
  if (answer.kind === "noexec")
    throw answer.code === 2 // ENOENT
      ? new CommandFailed(file, null, `${file} not found: is it installed and on PATH?`)
      : new CommandFailed(file, null, stderr);
  throw new CommandFailed([file, ...args].join(" "), answer.kind === "exit" ? answer.code : null, stderr);
}

/** Starts the tool from this process (its cost grows with this process's heap). */
function runHere(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(
        e.code === "ENOENT"
          ? new CommandFailed(file, null, `${file} not found: is it installed and on PATH?`)
          : e,
      );
    });
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString("utf8");
      if (code === 0) resolve(stdout);
      else reject(new CommandFailed([file, ...args].join(" "), code, Buffer.concat(err).toString("utf8")));
    });
  });
}
