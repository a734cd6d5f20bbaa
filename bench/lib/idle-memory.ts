import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shippedNodeFlags } from "./shipped-flags.js";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/**
 * Resident memory of `rds-csi controller` and `rds-csi node` each on its own, idle after start-up
 * (nothing calls them; the controller connects to no RDS until a call needs it): what a controller
 * Deployment and a node DaemonSet pod cost before any work. KiB, or undefined when the build is
 * missing or a process did not come up.
 */
export async function idleMemoryKiB(workDir: string): Promise<{ controller?: number; node?: number }> {
  if (!existsSync(CLI)) return {};
  const dir = mkdtempSync(join(workDir, "idle-"));
  const children: ChildProcess[] = [];
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")], {
      stdio: "ignore",
    });
    const start = (args: string[]) => {
      const child = spawn(process.execPath, [...shippedNodeFlags(), CLI, ...args, "--log-level", "warn"], {
        stdio: "ignore",
      });
      children.push(child);
      return child;
    };
    const controller = start([
      "controller",
      "--endpoint",
      `unix://${join(dir, "controller.sock")}`,
      "--rds-address",
      "127.0.0.1",
      "--rds-key-file",
      join(dir, "key"),
      "--rds-host-key-fingerprint",
      `SHA256:${"A".repeat(43)}`,
    ]);
    const node = start(["node", "--endpoint", `unix://${join(dir, "node.sock")}`, "--node-id", "bench-idle"]);
    // Up once each has made its socket; then a few seconds of idling, as a pod does after start.
    const until = Date.now() + 30_000;
    while (
      Date.now() < until &&
      !(existsSync(join(dir, "controller.sock")) && existsSync(join(dir, "node.sock")))
    )
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000));
    return { controller: rssKiB(controller.pid), node: rssKiB(node.pid) };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
