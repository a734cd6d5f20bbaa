import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SnapshotScenario } from "../../src/demo/scenario.js";
import {
  type DriverContainer,
  type SimContainer,
  startAllInOneContainer,
  startSimContainer,
} from "./containers.js";
import { requireEngineAndImages } from "./engine.js";
import { loopDevicesUnder, makeSharedDir, mountsUnder, type SharedDir } from "./shared-dir.js";

// The demo's story against the shipped image: write known data, snapshot while mounted,
// overwrite, restore, clone, compare every checksum. The driver (`rds-csi all`, loop transport)
// and the emulator each run in a privileged container of the node image; the test writes and
// reads the volumes on the host, through the mounts the driver made in its container.

let dir: SharedDir | undefined;
let sim: SimContainer | undefined;
let driver: DriverContainer | undefined;

beforeAll(async () => {
  await requireEngineAndImages();
  dir = makeSharedDir("integrity");
  sim = await startSimContainer(dir.path);
  driver = await startAllInOneContainer(dir.path, sim);
});

afterAll(async () => {
  for (const c of [driver, sim]) await c?.stop().catch(() => undefined);
  expect(dir?.remove() ?? []).toEqual([]);
});

describe("data integrity end to end, driver and emulator from the image", () => {
  it("snapshot while mounted, overwrite, restore (same and larger), clone: every checksum holds", async () => {
    const kubelet = join(dir!.path, "kubelet");
    const scenario = new SnapshotScenario({ csi: driver!.csi, workDir: kubelet, fsType: "ext4" });
    let failure: unknown;
    try {
      await scenario.run();
    } catch (err) {
      failure = err;
    }
    const problems = await scenario.cleanup();
    const failed = scenario.steps.filter((s) => !s.ok).map((s) => `${s.step}: ${s.detail}`);
    expect(failed, `${String(failure)}\ndriver:\n${driver!.logs.tail()}`).toEqual([]);
    expect(failure).toBeUndefined();
    expect(scenario.steps.map((s) => s.step)).toEqual([
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
    ]);
    expect(scenario.steps.find((s) => s.step.startsWith("restore snapshot (same"))?.detail).toMatch(
      /^24\/24 checksums match/,
    );
    expect(problems).toEqual([]);
    // The driver undid every mount and loop device it made; only the emulator's pool is left.
    expect(mountsUnder(kubelet)).toEqual([]);
    expect(loopDevicesUnder(join(sim!.poolMountPath, "rds-csi"))).toEqual([]);
    const left = execFileSync("find", [join(sim!.poolMountPath, "rds-csi"), "-name", "disk.img"], {
      encoding: "utf8",
    });
    expect(left.trim()).toBe("");
  });
});
