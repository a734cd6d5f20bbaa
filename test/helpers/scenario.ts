import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import type { SnapshotScenario } from "../../src/demo/scenario.js";

/** The demo's story, step by step, as every end-to-end run of it must report it. */
const STEPS = [
  "create source volume",
  "stage + publish source (mkfs)",
  "write data set",
  "snapshot while mounted",
  "overwrite and delete files on the source",
  "restore snapshot (same size) and verify",
  "restore snapshot (2x size) and verify",
  "clone the source volume and verify",
  "delete source volume and snapshot",
  "restored and cloned volumes still intact (remounted)",
];

/**
 * Runs the scenario, cleans up, and checks the whole story: every step ran and passed, every
 * checksum matched, the cleanup had no problem, and nothing of the driver's is left below the
 * kubelet directory or in the driver's root on the pool.
 */
export async function runScenarioToTheEnd(
  scenario: SnapshotScenario,
  where: {
    kubelet: string;
    poolMountPath: string;
    mountsUnder(dir: string): readonly unknown[];
    loopsUnder(dir: string): readonly unknown[];
  },
  context: () => string = () => "",
): Promise<void> {
  let failure: unknown;
  try {
    await scenario.run();
  } catch (err) {
    failure = err;
  }
  const problems = await scenario.cleanup();
  const failed = scenario.steps.filter((s) => !s.ok).map((s) => `${s.step}: ${s.detail}`);
  expect(failed, `${String(failure)}\n${context()}`).toEqual([]);
  expect(failure).toBeUndefined();
  expect(scenario.steps.map((s) => s.step)).toEqual(STEPS);
  expect(scenario.steps.find((s) => s.step.startsWith("restore snapshot (same"))?.detail).toMatch(
    /^24\/24 checksums match/,
  );
  expect(problems).toEqual([]);
  // Every staging and publish mount, and every loop device of the volumes, is gone again.
  const root = join(where.poolMountPath, "rds-csi");
  expect(where.mountsUnder(where.kubelet)).toEqual([]);
  expect(where.loopsUnder(root)).toEqual([]);
  // The driver's root on the pool holds no volume or snapshot any more.
  expect(execFileSync("find", [root, "-name", "disk.img"], { encoding: "utf8" }).trim()).toBe("");
}
