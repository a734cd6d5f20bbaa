/**
 * One emulator and one controller for a family of operations: bystander volumes and snapshots are
 * made first and must come out byte-identical, then each operation's matrix runs as one test that
 * prints its table and fails with every problem found.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  createSnapshotRequest,
  createVolumeRequest,
  ROOT,
  snapshotSource,
  volumeSource,
} from "../controller/harness.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { ControllerRig } from "./controller-rig.js";
import { type CaseResult, FULL_MATRIX, MatrixRunner, runMatrix } from "./matrix.js";
import { createOperations, writePattern } from "./operations.js";
import { sha256 } from "./pool-state.js";
import { describeCodes, describeCommand, formatTable, type Row } from "./report.js";

const MiB = 1024n * 1024n;

/** Images that exist before any case and that no case may change. */
async function makeBystanders(rig: ControllerRig): Promise<string[]> {
  const volume = (
    await rig.call("CreateVolume", createVolumeRequest("bystander-volume", { required: 2n * MiB }))
  ).volume as { volume_id: string };
  await writePattern(rig.sim, volume.volume_id);
  const snapshot = (
    await rig.call("CreateSnapshot", createSnapshotRequest("bystander-snapshot", volume.volume_id))
  ).snapshot as { snapshot_id: string };
  const restored = (
    await rig.call(
      "CreateVolume",
      createVolumeRequest("bystander-restored", {
        required: 2n * MiB,
        source: snapshotSource(snapshot.snapshot_id),
      }),
    )
  ).volume as { volume_id: string };
  const cloned = (
    await rig.call(
      "CreateVolume",
      createVolumeRequest("bystander-clone", { required: 2n * MiB, source: volumeSource(volume.volume_id) }),
    )
  ).volume as { volume_id: string };
  const root = path.join(rig.sim.poolMountPath, ROOT);
  return [
    path.join(root, "vols", volume.volume_id, "disk.img"),
    path.join(root, "snaps", volume.volume_id, snapshot.snapshot_id, "disk.img"),
    path.join(root, "vols", restored.volume_id, "disk.img"),
    path.join(root, "vols", cloned.volume_id, "disk.img"),
  ];
}

function rowOf(result: CaseResult): Row {
  return {
    cells: [
      String(result.index + 1),
      describeCommand(result.command.template, result.command.occurrence),
      result.kind,
      describeCodes(result.codes, result.rolledBack),
    ],
    passed: result.problems.length === 0,
    problems: result.problems,
  };
}

export function defineMatrixSuite(
  family: string,
  operationKeys: readonly string[],
  fullOnly: readonly string[] = [],
) {
  let sim: SimFixture;
  let rig: ControllerRig;
  let runner: MatrixRunner;
  let bystanders: Array<{ file: string; sum: string }> = [];
  const totals = { run: 0, passed: 0 };
  const operations = createOperations();

  beforeAll(async () => {
    sim = await startSim();
    rig = new ControllerRig(sim);
    runner = new MatrixRunner(sim, rig);
    const files = await makeBystanders(rig);
    bystanders = await Promise.all(files.map(async (file) => ({ file, sum: await sha256(file) })));
  });

  afterAll(async () => {
    rig?.close();
    await sim?.stop();
    console.log(
      `fault matrix, ${family} (${FULL_MATRIX ? "full" : "default"} mode): ${totals.run} cases run, ${totals.passed} passed`,
    );
  });

  for (const key of [...operationKeys, ...(FULL_MATRIX ? fullOnly : [])]) {
    const op = operations[key];
    if (!op) throw new Error(`unknown operation ${key}`);
    it(`${op.name}: every command, every fault, converges to the clean result`, {
      timeout: 1_800_000,
    }, async () => {
      const results = await runMatrix(runner, key, op);
      const rows = results.map(rowOf);
      totals.run += rows.length;
      totals.passed += rows.filter((r) => r.passed).length;
      console.log(formatTable(`fault matrix: ${op.name}`, ["#", "command", "fault", "attempts"], rows));
      const changed = [];
      for (const { file, sum } of bystanders) if ((await sha256(file)) !== sum) changed.push(file);
      expect(changed, "bystander images changed").toEqual([]);
      expect(rows.length).toBeGreaterThan(0);
      const failed = rows
        .filter((r) => !r.passed)
        .map((r) => `${r.cells.join(" | ")}: ${r.problems.join("; ")}`);
      expect(failed).toEqual([]);
    });
  }
}
