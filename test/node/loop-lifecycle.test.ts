import { copyFile, mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blkidValue,
  blockCapability,
  exec,
  growFile,
  loopDeviceOf,
  loopDevicesUnder,
  MiB,
  mountCapability,
  mountsUnder,
  type NodeHarness,
  startNodeHarness,
} from "./host.js";
import { newVolume, publishReq, stageReq, unpublishReq, unstageReq, type Vol } from "./volumes.js";

/*
 * The Node service over gRPC with the loop transport, on real loop devices and real ext4/xfs:
 * what kubelet does to a volume, and what a user would notice if it went wrong.
 */

let h: NodeHarness;

beforeAll(async () => {
  h = await startNodeHarness("node-life");
});

afterAll(async () => {
  await h?.close();
});

const volume = (name: string, bytes: bigint) => newVolume(h, name, bytes);
const stage = (v: Vol, capability: object = mountCapability()) =>
  h.call("NodeStageVolume", stageReq(v, capability));
const unstage = (v: Vol) => h.call("NodeUnstageVolume", unstageReq(v));
const publish = (v: Vol, readonly = false, capability: object = mountCapability()) =>
  h.call("NodePublishVolume", publishReq(v, readonly, capability));
const unpublish = (v: Vol) => h.call("NodeUnpublishVolume", unpublishReq(v));

interface Usage {
  unit: string;
  total: string;
  available: string;
  used: string;
}
interface StatsResponse {
  usage: Usage[];
  volume_condition: { abnormal: boolean; message: string } | null;
}
const stats = (v: Vol, path = v.target) =>
  h.call<StatsResponse>("NodeGetVolumeStats", { volume_id: v.id, volume_path: path });

function bytesUsage(s: StatsResponse): Usage {
  const u = s.usage.find((x) => x.unit === "BYTES");
  if (!u) throw new Error("no BYTES usage");
  return u;
}

describe("ext4 volume lifecycle on a loop device", () => {
  it("stages, publishes, writes, unpublishes, unstages, restages and reads the data back", async () => {
    const v = await volume("life", 128n * MiB);
    await stage(v, mountCapability("ext4"));
    const device = await loopDeviceOf(v.file);
    expect(device).toMatch(/^\/dev\/loop\d+$/);
    expect(await blkidValue(device!, "TYPE")).toBe("ext4");
    const uuid = await blkidValue(device!, "UUID");

    await publish(v);
    await writeFile(join(v.target, "hello.txt"), "written through the published path\n");
    await unpublish(v);
    await expect(stat(v.target)).rejects.toMatchObject({ code: "ENOENT" });
    await unstage(v);
    expect(await mountsUnder(v.staging)).toEqual([]);
    expect(await loopDeviceOf(v.file)).toBeUndefined();
    expect(await readdir(v.staging)).toEqual([]);

    // Restage without naming a filesystem: the existing one is mounted, never replaced.
    await stage(v, mountCapability(""));
    await publish(v);
    expect(await readFile(join(v.target, "hello.txt"), "utf8")).toBe("written through the published path\n");
    expect(await blkidValue((await loopDeviceOf(v.file))!, "UUID")).toBe(uuid);
    await unpublish(v);
    await unstage(v);
  });

  it("is idempotent: repeated stage, publish, unpublish and unstage succeed and mount once", async () => {
    const v = await volume("repeat", 128n * MiB);
    for (let i = 0; i < 3; i++) await stage(v);
    for (let i = 0; i < 3; i++) await publish(v);
    expect(await mountsUnder(v.target)).toEqual([v.target]);
    expect(await mountsUnder(v.staging)).toEqual([join(v.staging, "fs")]);
    for (let i = 0; i < 2; i++) await unpublish(v);
    for (let i = 0; i < 2; i++) await unstage(v);
    expect(await mountsUnder(v.staging)).toEqual([]);
    expect(await loopDeviceOf(v.file)).toBeUndefined();
  });

  it("applies mount flags at staging and read-only publishes refuse writes", async () => {
    const v = await volume("flags", 128n * MiB);
    await stage(v, mountCapability("ext4", ["noatime", "nodev"]));
    await publish(v, true);
    const line = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .find((l) => l.includes(` ${v.target} `));
    expect(line?.split(" ")[5]?.split(",")).toEqual(expect.arrayContaining(["ro", "noatime", "nodev"]));
    await expect(writeFile(join(v.target, "x"), "x")).rejects.toMatchObject({ code: "EROFS" });
    // The same target asked for read-write now is a conflict, not a silent remount.
    expect(await h.codeOf("NodePublishVolume", publishReq(v, false))).toBe(status.ALREADY_EXISTS);
    await unpublish(v);
    await unstage(v);
  });
});

describe("unstage and the kernel's deferred detach", () => {
  it("answers only once the kernel has really released the loop device", async () => {
    const v = await volume("held", 64n * MiB);
    await stage(v, blockCapability());
    const device = await loopDeviceOf(v.file);
    expect(device).toMatch(/^\/dev\/loop\d+$/);

    // An opener the node does not know about (udev's blkid, a backup agent): the kernel defers the
    // detach until it lets go. Unstage waits for that, bounded, instead of reporting it done.
    const opener = await open(device!, "r");
    const released = setTimeout(() => void opener.close(), 400);
    try {
      await unstage(v);
      expect(await loopDeviceOf(v.file)).toBeUndefined();
    } finally {
      clearTimeout(released);
      await opener.close().catch(() => undefined);
    }
  });
});

describe("unpublish touches only the volume's own mount", () => {
  it("leaves another volume's mount, and a mount that is no volume at all, where they are", async () => {
    const mine = await volume("owner", 64n * MiB);
    const other = await volume("bystander", 64n * MiB);
    await stage(other, mountCapability("ext4"));
    await publish(other);
    await writeFile(join(other.target, "keep.txt"), "still here\n");
    try {
      const wrongVolume = await h.outcome("NodeUnpublishVolume", {
        volume_id: mine.id,
        target_path: other.target,
      });
      expect(wrongVolume.code, wrongVolume.message).toBe(status.FAILED_PRECONDITION);
      expect(wrongVolume.message).toContain(`holds volume ${other.id}`);
      expect(await mountsUnder(other.target)).toEqual([other.target]);
      expect(await readFile(join(other.target, "keep.txt"), "utf8")).toBe("still here\n");

      const foreign = join(h.dir, "pods", "foreign-tmpfs");
      await mkdir(foreign, { recursive: true });
      await exec("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", foreign]);
      try {
        const notOurs = await h.outcome("NodeUnpublishVolume", { volume_id: mine.id, target_path: foreign });
        expect(notOurs.code, notOurs.message).toBe(status.FAILED_PRECONDITION);
        expect(notOurs.message).toMatch(/no volume of this driver/);
        expect(await mountsUnder(foreign)).toEqual([foreign]);
      } finally {
        await exec("umount", [foreign]);
      }
    } finally {
      await unpublish(other);
      await unstage(other);
    }
    expect(await mountsUnder(other.target)).toEqual([]);
  });

  it("refuses a raw block target that is another volume's, and unpublishes its own", async () => {
    const mine = await volume("block-owner", 64n * MiB);
    const other = await volume("block-bystander", 64n * MiB);
    await stage(other, blockCapability());
    await publish(other, false, blockCapability());
    try {
      const refused = await h.outcome("NodeUnpublishVolume", {
        volume_id: mine.id,
        target_path: other.target,
      });
      expect(refused.code, refused.message).toBe(status.FAILED_PRECONDITION);
      expect(await mountsUnder(other.target)).toEqual([other.target]);
    } finally {
      await unpublish(other);
      await unstage(other);
    }
    expect(await mountsUnder(other.target)).toEqual([]);
  });
});

describe("restored and cloned volumes", () => {
  it("mounts a restored volume with the snapshot's data and never reformats it", async () => {
    const source = await volume("snap-src", 128n * MiB);
    await stage(source, mountCapability("ext4"));
    await publish(source);
    await writeFile(join(source.target, "marker"), "snapshot contents\n");
    await unpublish(source);
    await unstage(source);
    const sourceUuid = await blkidValue(source.file, "UUID");

    // A restore is a copy of the snapshot's disk image in a new volume.
    const restored = await volume("restored", 128n * MiB);
    await copyFile(source.file, restored.file);
    await stage(restored, mountCapability("ext4"));
    await publish(restored);
    expect(await readFile(join(restored.target, "marker"), "utf8")).toBe("snapshot contents\n");
    expect(await blkidValue((await loopDeviceOf(restored.file))!, "UUID")).toBe(sourceUuid);
    await unpublish(restored);
    await unstage(restored);
  });

  it("refuses to stage an ext4 restore as xfs and leaves its data untouched", async () => {
    const source = await volume("mismatch-src", 128n * MiB);
    await stage(source, mountCapability("ext4"));
    await publish(source);
    await writeFile(join(source.target, "marker"), "keep me\n");
    await unpublish(source);
    await unstage(source);

    const restored = await volume("mismatch", 400n * MiB);
    await copyFile(source.file, restored.file);
    const err = await stage(restored, mountCapability("xfs")).catch(
      (e: { code: number; details: string }) => e,
    );
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect((err as { details: string }).details).toMatch(/already holds ext4 but xfs was requested/);
    // The failed first stage cleaned up after itself.
    expect(await loopDeviceOf(restored.file)).toBeUndefined();
    expect(await blkidValue(restored.file, "TYPE")).toBe("ext4");
    await stage(restored, mountCapability(""));
    await publish(restored);
    expect(await readFile(join(restored.target, "marker"), "utf8")).toBe("keep me\n");
    await unpublish(restored);
    await unstage(restored);
  });

  it("grows the filesystem of a volume restored into a larger size", async () => {
    const source = await volume("small-src", 128n * MiB);
    await stage(source, mountCapability("ext4"));
    await publish(source);
    await writeFile(join(source.target, "marker"), "grown\n");
    const before = BigInt(bytesUsage(await stats(source)).total);
    await unpublish(source);
    await unstage(source);

    const bigger = await volume("bigger", 128n * MiB);
    await copyFile(source.file, bigger.file);
    await growFile(bigger.file, 256n * MiB);
    await stage(bigger, mountCapability("ext4"));
    await publish(bigger);
    const after = BigInt(bytesUsage(await stats(bigger)).total);
    expect(after - before).toBeGreaterThan(100n * MiB);
    expect(await readFile(join(bigger.target, "marker"), "utf8")).toBe("grown\n");
    await unpublish(bigger);
    await unstage(bigger);
  });

  it("mounts an xfs volume and its clone on the same node at once", async () => {
    const source = await volume("xfs-src", 320n * MiB);
    await stage(source, mountCapability("xfs"));
    await publish(source);
    await writeFile(join(source.target, "marker"), "xfs data\n");
    await unpublish(source);
    await unstage(source);
    const clone = await volume("xfs-clone", 320n * MiB);
    await copyFile(source.file, clone.file);

    // Same filesystem UUID on both: only possible because xfs is mounted with nouuid.
    await stage(source, mountCapability("xfs"));
    await stage(clone, mountCapability("xfs"));
    await publish(source);
    await publish(clone);
    expect(await blkidValue(clone.file, "UUID")).toBe(await blkidValue(source.file, "UUID"));
    expect(await readFile(join(clone.target, "marker"), "utf8")).toBe("xfs data\n");
    await writeFile(join(clone.target, "marker"), "changed in the clone\n");
    expect(await readFile(join(source.target, "marker"), "utf8")).toBe("xfs data\n");
    for (const v of [source, clone]) {
      await unpublish(v);
      await unstage(v);
    }
  });
});

describe("reader-only access modes", () => {
  it("stage read-only, and an empty volume is not formatted for a reader", async () => {
    const source = await volume("rox-src", 128n * MiB);
    await stage(source, mountCapability("ext4"));
    await publish(source);
    await writeFile(join(source.target, "marker"), "shared read-only\n");
    await unpublish(source);
    await unstage(source);

    const reader = mountCapability("", [], "MULTI_NODE_READER_ONLY");
    await stage(source, reader);
    await publish(source, false, reader);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n");
    const stagingLine = mounts.find((l) => l.includes(` ${join(source.staging, "fs")} `));
    expect(stagingLine?.split(" ")[5]?.split(",")).toContain("ro");
    expect(await readFile(join(source.target, "marker"), "utf8")).toBe("shared read-only\n");
    await expect(writeFile(join(source.target, "x"), "x")).rejects.toMatchObject({ code: "EROFS" });
    await unpublish(source);
    await unstage(source);

    const empty = await volume("rox-empty", 128n * MiB);
    const err = await stage(empty, reader).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(await blkidValue(empty.file, "TYPE")).toBe("");
    expect(await loopDeviceOf(empty.file)).toBeUndefined();
  });
});

describe("volume stats", () => {
  it("reports bytes and inodes that follow what was written", async () => {
    const v = await volume("stats", 128n * MiB);
    await stage(v, mountCapability("ext4"));
    await publish(v);
    const before = await stats(v);
    expect(before.volume_condition).toEqual({ abnormal: false, message: expect.any(String) });
    const bytes = bytesUsage(before);
    const inodes = before.usage.find((u) => u.unit === "INODES")!;
    expect(BigInt(bytes.total)).toBeGreaterThan(100n * MiB);
    expect(BigInt(bytes.total)).toBeLessThanOrEqual(128n * MiB);
    expect(BigInt(bytes.used) + BigInt(bytes.available)).toBeLessThanOrEqual(BigInt(bytes.total));
    expect(BigInt(inodes.used) + BigInt(inodes.available)).toBe(BigInt(inodes.total));

    await mkdir(join(v.target, "many"));
    for (let i = 0; i < 20; i++) await writeFile(join(v.target, "many", `f${i}`), "x");
    await writeFile(join(v.target, "big"), Buffer.alloc(Number(16n * MiB), 7));
    await exec("sync", ["-f", join(v.target, "big")]);
    const after = await stats(v);
    expect(BigInt(bytesUsage(after).used) - BigInt(bytes.used)).toBeGreaterThanOrEqual(16n * MiB);
    const inodesAfter = after.usage.find((u) => u.unit === "INODES")!;
    expect(BigInt(inodesAfter.used) - BigInt(inodes.used)).toBe(22n);

    // The staging path is a valid volume path too.
    expect(bytesUsage(await stats(v, v.staging)).total).toBe(bytesUsage(after).total);
    await unpublish(v);
    await unstage(v);
  });

  it("reports a deleted backing file, and unstage still finds and detaches its loop device", async () => {
    const v = await volume("deleted", 128n * MiB);
    await stage(v);
    await publish(v);
    await rm(v.file);
    const s = await stats(v);
    expect(s.volume_condition).toMatchObject({ abnormal: true });
    expect(s.volume_condition?.message).toMatch(/backing file .* was deleted/);
    await unpublish(v);
    expect(await loopDevicesUnder(dirname(v.file))).toHaveLength(1);
    await unstage(v);
    expect(await loopDevicesUnder(dirname(v.file))).toEqual([]);
  });

  it("reports an abnormal condition when the mount is gone, and NOT_FOUND for a missing path", async () => {
    const v = await volume("gone", 128n * MiB);
    await stage(v);
    await publish(v);
    await exec("umount", ["--", v.target]);
    const s = await stats(v);
    expect(s.volume_condition).toMatchObject({ abnormal: true });
    expect(s.volume_condition?.message).toMatch(/nothing is mounted/);
    expect(s.usage).toEqual([]);
    expect(await h.codeOf("NodeGetVolumeStats", { volume_id: v.id, volume_path: join(h.dir, "nope") })).toBe(
      status.NOT_FOUND,
    );
    expect(await h.codeOf("NodeGetVolumeStats", { volume_id: v.id, volume_path: "some/path" })).toBe(
      status.NOT_FOUND,
    );
    await unpublish(v);
    await unstage(v);
  });

  it("stages a volume of another emulator pool (<data dir>/pools/<name>/mnt), and nothing else there", async () => {
    const poolsDir = join(dirname(h.pool), "pools", "fast");
    const dir = join(poolsDir, "mnt", "vols", "pvc-fast");
    await mkdir(dir, { recursive: true });
    const v = await volume("fast", 128n * MiB);
    const file = join(dir, "disk.img");
    await copyFile(v.file, file);
    const fast = { ...v, id: "fast:pvc-fast", file };
    await h.call("NodeStageVolume", stageReq(fast));
    await h.call("NodeUnstageVolume", unstageReq(fast));
    // The pool's own image beside its mount point is not a volume.
    const image = join(poolsDir, "pool.img");
    await copyFile(v.file, image);
    expect(await h.codeOf("NodeStageVolume", stageReq({ ...fast, file: image }))).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(
      await h.codeOf("NodeStageVolume", stageReq({ ...fast, file: join(poolsDir, "mnt", "..", "pool.img") })),
    ).toBe(status.INVALID_ARGUMENT);
  });
});
