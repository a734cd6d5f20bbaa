import { open, readFile, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blkidValue,
  blockCapability,
  growFile,
  hasCapSysResource,
  loopDeviceOf,
  MiB,
  mountCapability,
  mountsUnder,
  type NodeHarness,
  startNodeHarness,
} from "./host.js";
import { expandReq, newVolume, publishReq, stageReq, unpublishReq, unstageReq, type Vol } from "./volumes.js";

let h: NodeHarness;
// Online ext4 growth needs CAP_SYS_RESOURCE, which some CI containers do not grant.
const capSysResource = await hasCapSysResource();

beforeAll(async () => {
  h = await startNodeHarness("node-expand");
});

afterAll(async () => {
  await h?.close();
});

async function totalBytes(v: Vol): Promise<bigint> {
  const res = await h.call<{ usage: { unit: string; total: string }[] }>("NodeGetVolumeStats", {
    volume_id: v.id,
    volume_path: v.target,
  });
  return BigInt(res.usage.find((u) => u.unit === "BYTES")!.total);
}

async function sysfsSize(device: string): Promise<bigint> {
  return BigInt((await readFile(`/sys/class/block/${basename(device)}/size`, "utf8")).trim()) * 512n;
}

describe("NodeExpandVolume", () => {
  it("refreshes the loop device and grows a mounted xfs filesystem", async () => {
    const v = await newVolume(h, "grow-xfs", 320n * MiB);
    await h.call("NodeStageVolume", stageReq(v, mountCapability("xfs")));
    await h.call("NodePublishVolume", publishReq(v, false, mountCapability("xfs")));
    await writeFile(join(v.target, "data"), "before the grow\n");
    const before = await totalBytes(v);

    // The controller grew the file on the RDS (here: the emulator's pool).
    await growFile(v.file, 640n * MiB);
    const res = await h.call<{ capacity_bytes: string }>("NodeExpandVolume", expandReq(v, 640n * MiB));
    expect(res.capacity_bytes).toBe(String(640n * MiB));
    expect(await sysfsSize((await loopDeviceOf(v.file))!)).toBe(640n * MiB);
    expect((await totalBytes(v)) - before).toBeGreaterThanOrEqual(300n * MiB);
    expect(await readFile(join(v.target, "data"), "utf8")).toBe("before the grow\n");

    // Repeating it is harmless.
    expect(
      (await h.call<{ capacity_bytes: string }>("NodeExpandVolume", expandReq(v, 640n * MiB))).capacity_bytes,
    ).toBe(String(640n * MiB));
    await h.call("NodeUnpublishVolume", unpublishReq(v));
    await h.call("NodeUnstageVolume", unstageReq(v));
  });

  it("fails with FAILED_PRECONDITION when the device is still smaller than asked", async () => {
    const v = await newVolume(h, "not-grown", 128n * MiB);
    await h.call("NodeStageVolume", stageReq(v));
    await h.call("NodePublishVolume", publishReq(v));
    const err = await h.call("NodeExpandVolume", expandReq(v, 256n * MiB)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    await h.call("NodeUnpublishVolume", unpublishReq(v));
    await h.call("NodeUnstageVolume", unstageReq(v));
  });

  it("answers NOT_FOUND for a volume path that does not exist", async () => {
    expect(
      await h.codeOf("NodeExpandVolume", {
        volume_id: "pvc-x",
        volume_path: "some/path",
        capacity_range: null,
      }),
    ).toBe(status.NOT_FOUND);
    expect(
      await h.codeOf("NodeExpandVolume", { volume_id: "pvc-x", volume_path: join(h.dir, "missing") }),
    ).toBe(status.NOT_FOUND);
  });

  describe("online ext4 growth", () => {
    it.runIf(capSysResource)("grows a mounted ext4 filesystem", async () => {
      const v = await newVolume(h, "grow-ext4", 128n * MiB);
      await h.call("NodeStageVolume", stageReq(v, mountCapability("ext4")));
      await h.call("NodePublishVolume", publishReq(v));
      const before = await totalBytes(v);
      await growFile(v.file, 256n * MiB);
      await h.call("NodeExpandVolume", expandReq(v, 256n * MiB));
      expect((await totalBytes(v)) - before).toBeGreaterThan(100n * MiB);
      await h.call("NodeUnpublishVolume", unpublishReq(v));
      await h.call("NodeUnstageVolume", unstageReq(v));
    });

    // Without the capability the kernel refuses online ext4 growth; the error must say why
    // instead of a bare "Permission denied", and the next stage still grows it offline.
    it.runIf(!capSysResource)("explains a kernel refusal to grow ext4 online", async () => {
      const v = await newVolume(h, "grow-ext4-denied", 128n * MiB);
      await h.call("NodeStageVolume", stageReq(v, mountCapability("ext4")));
      await h.call("NodePublishVolume", publishReq(v));
      await growFile(v.file, 256n * MiB);
      const err = await h.call("NodeExpandVolume", expandReq(v, 256n * MiB)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: status.INTERNAL });
      expect((err as { details: string }).details).toMatch(/CAP_SYS_RESOURCE/);
      await h.call("NodeUnpublishVolume", unpublishReq(v));
      await h.call("NodeUnstageVolume", unstageReq(v));
      // Staged again, the filesystem is grown offline before it is mounted.
      await h.call("NodeStageVolume", stageReq(v, mountCapability("ext4")));
      await h.call("NodePublishVolume", publishReq(v));
      expect(await totalBytes(v)).toBeGreaterThan(200n * MiB);
      await h.call("NodeUnpublishVolume", unpublishReq(v));
      await h.call("NodeUnstageVolume", unstageReq(v));
    });
  });
});

describe("raw block volumes", () => {
  it("attaches without formatting, publishes the device node, and detaches on unstage", async () => {
    const v = await newVolume(h, "raw", 64n * MiB);
    await h.call("NodeStageVolume", stageReq(v, blockCapability()));
    const device = (await loopDeviceOf(v.file))!;
    expect(await blkidValue(device, "TYPE")).toBe("");
    await h.call("NodePublishVolume", publishReq(v, false, blockCapability()));
    await h.call("NodePublishVolume", publishReq(v, false, blockCapability()));
    expect((await stat(v.target)).isBlockDevice()).toBe(true);
    expect(await mountsUnder(v.target)).toEqual([v.target]);

    const pattern = Buffer.from("raw block bytes at one mebibyte");
    const dev = await open(v.target, "r+");
    await dev.write(pattern, 0, pattern.length, Number(MiB));
    await dev.sync();
    await dev.close();
    const file = await open(v.file, "r");
    const back = Buffer.alloc(pattern.length);
    await file.read(back, 0, back.length, Number(MiB));
    await file.close();
    expect(back.toString()).toBe(pattern.toString());

    await growFile(v.file, 96n * MiB);
    const res = await h.call<{ capacity_bytes: string }>("NodeExpandVolume", expandReq(v, 96n * MiB));
    expect(res.capacity_bytes).toBe(String(96n * MiB));
    expect(await sysfsSize(device)).toBe(96n * MiB);
    const s = await h.call<{ usage: { unit: string; total: string }[] }>("NodeGetVolumeStats", {
      volume_id: v.id,
      volume_path: v.target,
    });
    expect(s.usage).toEqual([expect.objectContaining({ unit: "BYTES", total: String(96n * MiB) })]);

    await h.call("NodeUnpublishVolume", unpublishReq(v));
    await expect(stat(v.target)).rejects.toMatchObject({ code: "ENOENT" });
    await h.call("NodeUnstageVolume", unstageReq(v));
    expect(await loopDeviceOf(v.file)).toBeUndefined();
    expect(await mountsUnder(v.staging)).toEqual([]);
  });

  it("refuses to publish a block-staged volume as a filesystem", async () => {
    const v = await newVolume(h, "raw-mismatch", 64n * MiB);
    await h.call("NodeStageVolume", stageReq(v, blockCapability()));
    expect(await h.codeOf("NodePublishVolume", publishReq(v, false, mountCapability()))).toBe(
      status.INVALID_ARGUMENT,
    );
    await h.call("NodeUnstageVolume", unstageReq(v));
  });
});

describe("unstage while published", () => {
  it("is refused without unmounting anything, and succeeds after unpublish", async () => {
    const v = await newVolume(h, "busy", 128n * MiB);
    await h.call("NodeStageVolume", stageReq(v));
    await h.call("NodePublishVolume", publishReq(v));
    await writeFile(join(v.target, "f"), "still here\n");
    const err = await h.call("NodeUnstageVolume", unstageReq(v)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect((err as { details: string }).details).toContain(v.target);
    expect(await mountsUnder(v.staging)).toEqual([join(v.staging, "fs")]);
    expect(await readFile(join(v.target, "f"), "utf8")).toBe("still here\n");
    await h.call("NodeUnpublishVolume", unpublishReq(v));
    await h.call("NodeUnstageVolume", unstageReq(v));
    expect(await loopDeviceOf(v.file)).toBeUndefined();
  });
});
