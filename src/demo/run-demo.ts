import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "./local-stack.js";
import { emulatorBlocker } from "./preflight.js";
import { SnapshotScenario, type StepReport } from "./scenario.js";

const out = (line: string) => process.stdout.write(`${line}\n`);

function table(steps: readonly StepReport[]): string {
  const rows = steps.map((s, i) => [
    String(i + 1),
    s.ok ? "ok" : "FAILED",
    `${(s.ms / 1000).toFixed(2)}s`,
    s.step,
    s.detail,
  ]);
  const head = ["#", "result", "time", "step", "detail"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (c < 4 ? r[c]!.length : 0))));
  const fmt = (r: string[]) => r.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join("  ");
  return [fmt(head), fmt(widths.map((w, c) => (c < 4 ? "-".repeat(w) : "------"))), ...rows.map(fmt)].join(
    "\n",
  );
}

/**
 * `rds-csi demo`: an emulator and the driver in a temporary directory, the snapshot story end to
 * end with progress, a summary table, and cleanup — also on Ctrl-C. Returns the exit code.
 */
export async function runDemo(options: { keep?: boolean; fsType?: "ext4" | "xfs" } = {}): Promise<number> {
  const blocker = emulatorBlocker();
  if (blocker) {
    process.stderr.write(`rds-csi demo: cannot start the RDS emulator: ${blocker}\n`);
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), "rds-csi-demo-"));
  out(`rds-csi demo — working in ${workDir}`);
  out("starting the RDS emulator (RouterOS CLI over SSH on a loop-mounted Btrfs pool) and the driver …");
  let interrupted = false;
  let scenario: SnapshotScenario | undefined;
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      out("cleaning up: volumes, snapshots, mounts, loop devices, processes …");
      const problems = [...((await scenario?.cleanup()) ?? []), ...((await stack?.stop()) ?? [])];
      if (!options.keep) {
        try {
          rmSync(workDir, { recursive: true, force: true });
        } catch (err) {
          problems.push(`remove ${workDir}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      for (const p of problems) process.stderr.write(`  cleanup problem: ${p}\n`);
      out(
        problems.length === 0
          ? "cleanup complete: nothing left behind"
          : "cleanup finished with problems (above)",
      );
    })();
    return cleaning;
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    out("\ninterrupted");
    void cleanup().then(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    stack = await startLocalStack({ workDir, logLevel: "warn" });
    out(
      `emulator listening on 127.0.0.1:${stack.simPort} (host key ${stack.hostKeyFingerprint}), driver on ${stack.endpoint}\n`,
    );
    scenario = new SnapshotScenario({
      csi: stack.csi,
      workDir: join(workDir, "kubelet"),
      ...(options.fsType ? { fsType: options.fsType } : {}),
      onStep: (r) =>
        out(`${r.ok ? "✔" : "✘"} ${r.step.padEnd(52)} ${r.detail} (${(r.ms / 1000).toFixed(2)}s)`),
    });
    let failed = false;
    try {
      await scenario.run();
    } catch {
      failed = true;
    }
    if (interrupted) return 130;
    out(`\nsummary\n${table(scenario.steps)}\n`);
    out(
      failed
        ? "RESULT: FAILED"
        : "RESULT: every checksum verified — snapshots, restores and clones are independent and intact",
    );
    return failed ? 1 : 0;
  } catch (err) {
    process.stderr.write(`rds-csi demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    if (!interrupted) await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
