import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";
import {
  blkidValue,
  exec,
  loopContext,
  loopDeviceOf,
  loopDevicesUnder,
  mountCapability,
  type NodeHarness,
  startNodeHarness,
} from "./host.js";

/*
 * Volumes whose disk.img lives inside a running emulator's Btrfs pool, snapshotted and restored
 * with the emulator's own RouterOS commands: the node must mount the restore with the data as it
 * was at the snapshot, without formatting it.
 */

let sim: SimFixture;
let h: NodeHarness;

beforeAll(async () => {
  sim = await startSim({ size: "2G" });
  h = await startNodeHarness("node-sim", { loopAllowedRoot: sim.poolMountPath });
  const setup = await sshExec(
    sim,
    "/file add name=raid1/rds-csi type=directory; /file add name=raid1/rds-csi/vols type=directory; " +
      "/file add name=raid1/rds-csi/snaps type=directory",
  );
  expect(setup.stdout).toBe("");
});

afterAll(async () => {
  try {
    await h?.close();
  } finally {
    // The loop devices of these volumes are backed by files in the pool: detach them before the
    // emulator unmounts it. Only this test uses this emulator instance.
    for (const device of sim ? await loopDevicesUnder(sim.poolMountPath) : []) {
      await exec("losetup", ["--detach", device]).catch(() => undefined);
    }
    await sim?.stop();
  }
});

async function ros(command: string): Promise<void> {
  const res = await sshExec(sim, command);
  expect(res.stdout.replace(/\r\n$/, "")).toMatch(/^(\*[0-9A-F]+)?$/);
}

function paths(id: string) {
  return {
    file: join(sim.poolMountPath, "rds-csi/vols", id, "disk.img"),
    staging: join(h.dir, "staging", id),
    target: join(h.dir, "pods", id, "mount"),
  };
}

async function withVolume(id: string, fn: (mountPath: string) => Promise<void>): Promise<void> {
  const p = paths(id);
  await mkdir(p.staging, { recursive: true });
  await mkdir(join(h.dir, "pods", id), { recursive: true });
  const capability = mountCapability("ext4");
  await h.call("NodeStageVolume", {
    volume_id: id,
    staging_target_path: p.staging,
    volume_capability: capability,
    volume_context: loopContext(p.file),
  });
  await h.call("NodePublishVolume", {
    volume_id: id,
    staging_target_path: p.staging,
    target_path: p.target,
    volume_capability: capability,
    volume_context: loopContext(p.file),
  });
  try {
    await fn(p.target);
  } finally {
    await h.call("NodeUnpublishVolume", { volume_id: id, target_path: p.target });
    await h.call("NodeUnstageVolume", { volume_id: id, staging_target_path: p.staging });
  }
}

describe("volumes in the emulator's pool", () => {
  it("restores a Btrfs snapshot of a volume with the data it had, without formatting it", async () => {
    await ros("/disk/btrfs/subvolume/add fs=raid1 name=rds-csi/vols/pvc-src");
    await ros(
      "/disk add type=file file-path=raid1/rds-csi/vols/pvc-src/disk.img file-size=256M slot=pvc-src " +
        "nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:rds-csi:pvc-src",
    );
    await withVolume("pvc-src", async (mnt) => writeFile(join(mnt, "marker"), "at snapshot time\n"));
    const uuid = await blkidValue(paths("pvc-src").file, "UUID");
    expect(uuid).not.toBe("");

    await ros(
      "/disk/btrfs/subvolume/add fs=raid1 parent=rds-csi/vols/pvc-src name=rds-csi/snaps/snap-1 read-only=yes",
    );
    await withVolume("pvc-src", async (mnt) => writeFile(join(mnt, "marker"), "overwritten later\n"));

    // A restore: a writable snapshot of the snapshot becomes the new volume's subvolume.
    await ros(
      "/disk/btrfs/subvolume/add fs=raid1 parent=rds-csi/snaps/snap-1 name=rds-csi/vols/pvc-restored",
    );
    await withVolume("pvc-restored", async (mnt) => {
      expect(await readFile(join(mnt, "marker"), "utf8")).toBe("at snapshot time\n");
    });
    expect(await blkidValue(paths("pvc-restored").file, "UUID")).toBe(uuid);
    await withVolume("pvc-src", async (mnt) => {
      expect(await readFile(join(mnt, "marker"), "utf8")).toBe("overwritten later\n");
    });
    expect(await loopDeviceOf(paths("pvc-src").file)).toBeUndefined();
    expect(await loopDeviceOf(paths("pvc-restored").file)).toBeUndefined();
  });
});
