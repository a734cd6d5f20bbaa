import { spawn } from "node:child_process";

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

/** Runs a system tool without a shell and returns its stdout; a non-zero exit throws CommandFailed. */
export function run(file: string, args: readonly string[]): Promise<string> {
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
