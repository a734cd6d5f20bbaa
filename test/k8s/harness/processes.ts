import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Child, startChild } from "../../../src/demo/processes.js";

/**
 * Every process the suite starts, stopped in reverse order of starting (clients before the servers
 * they talk to), each by its own pid. A process `exit` hook kills whatever is still running, so a
 * crashed or interrupted run leaves no process behind either.
 */
export class Processes {
  readonly #children: Child[] = [];
  readonly #safetyNet = () => {
    for (const child of this.#children) if (child.running) child.proc.kill("SIGKILL");
  };

  constructor() {
    process.on("exit", this.#safetyNet);
  }

  start(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Child {
    const child = startChild(name, command, args, env);
    this.#children.push(child);
    return child;
  }

  /** The processes that exited while they should have been running, with their last lines. */
  crashed(): string[] {
    return this.#children.filter((c) => !c.running).map((c) => `${c.name} exited:\n${c.tail(30)}`);
  }

  /** Writes every process's output to <dir>/<name>.log (for RDS_CSI_K8S_LOGS). */
  saveLogs(dir: string): void {
    // A missing directory must not keep the teardown from stopping everything.
    mkdirSync(dir, { recursive: true });
    for (const child of this.#children) {
      writeFileSync(
        path.join(dir, `${child.name.replace(/[^\w.-]+/g, "_")}.log`),
        `${child.output.join("\n")}\n`,
      );
    }
  }

  /** Stops all, newest first; returns the ones that did not exit cleanly on SIGTERM. */
  async stopAll(): Promise<string[]> {
    const problems: string[] = [];
    for (const child of [...this.#children].reverse()) {
      const wasRunning = child.running;
      const code = await child.stop(15_000);
      if (wasRunning && code !== 0 && code !== null) problems.push(`${child.name} exited with ${code}`);
    }
    process.off("exit", this.#safetyNet);
    return problems;
  }
}
