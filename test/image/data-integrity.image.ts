import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SnapshotScenario } from "../../src/demo/scenario.js";
import { runScenarioToTheEnd } from "../helpers/scenario.js";
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
    await runScenarioToTheEnd(
      scenario,
      { kubelet, poolMountPath: sim!.poolMountPath, mountsUnder, loopsUnder: loopDevicesUnder },
      () => `driver:\n${driver!.logs.tail()}`,
    );
  });
});
