import { mkdir, open, readdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CsiError } from "../../src/csi/errors.js";
import { createNodeService } from "../../src/csi/node-service.js";
import type { RequestContext } from "../../src/csi/pipeline.js";
import type { NodeStageVolumeRequest } from "../../src/csi/types.js";
import { createLogger } from "../../src/log.js";
import { CommandError, type CommandRunner, execFileRunner } from "../../src/node/exec.js";
import { derivedHostNqn } from "../../src/node/index.js";
import {
  blkidValue,
  blockCapability,
  exec,
  loopContext,
  loopDeviceOf,
  MiB,
  mountCapability,
  mountsUnder,
  type NodeHarness,
  sparseFile,
  startNodeHarness,
} from "./host.js";
import { newVolume, publishReq, stageReq, unpublishReq, unstageReq } from "./volumes.js";

let h: NodeHarness;

beforeAll(async () => {
  h = await startNodeHarness("node-errors", { maxVolumesPerNode: 16 });
});

afterAll(async () => {
  await h?.close();
});

describe("NodeGetInfo and NodeGetCapabilities", () => {
  it("reports the node id and the configured volume limit", async () => {
    expect(await h.call("NodeGetInfo", {})).toEqual({
      // The node name and the host NQN derived from it (no --host-nqn, no /etc/nvme/hostnqn here).
      node_id: `node-1/${derivedHostNqn("node-1")}`,
      max_volumes_per_node: "16",
      accessible_topology: null,
    });
  });

  it("advertises staging, expansion and volume stats", async () => {
    const res = await h.call<{ capabilities: { rpc: { type: string } }[] }>("NodeGetCapabilities", {});
    expect(res.capabilities.map((c) => c.rpc.type)).toEqual([
      "STAGE_UNSTAGE_VOLUME",
      "EXPAND_VOLUME",
      "GET_VOLUME_STATS",
    ]);
  });
});

describe("request validation (INVALID_ARGUMENT)", () => {
  const staging = "/var/lib/kubelet/plugins/x/globalmount";
  const target = "/var/lib/kubelet/pods/p/volumes/v/mount";
  it.each([
    ["NodeStageVolume", { staging_target_path: staging, volume_capability: mountCapability() }],
    ["NodeStageVolume", { volume_id: "v", volume_capability: mountCapability() }],
    ["NodeStageVolume", { volume_id: "v", staging_target_path: staging }],
    [
      "NodeStageVolume",
      { volume_id: "v", staging_target_path: "relative", volume_capability: mountCapability() },
    ],
    [
      "NodeStageVolume",
      { volume_id: "v", staging_target_path: staging, volume_capability: mountCapability("ntfs") },
    ],
    [
      "NodeStageVolume",
      {
        volume_id: "v",
        staging_target_path: staging,
        volume_capability: mountCapability(),
        volume_context: {},
      },
    ],
    [
      "NodeStageVolume",
      {
        volume_id: "v",
        staging_target_path: staging,
        volume_capability: mountCapability("ext4", [], "MULTI_NODE_MULTI_WRITER"),
        volume_context: loopContext("/x/disk.img"),
      },
    ],
    ["NodeUnstageVolume", { staging_target_path: staging }],
    ["NodeUnstageVolume", { volume_id: "v" }],
    ["NodePublishVolume", {}],
    ["NodePublishVolume", { volume_id: "v" }],
    ["NodePublishVolume", { volume_id: "v", target_path: target }],
    ["NodePublishVolume", { volume_id: "v", target_path: target, volume_capability: mountCapability() }],
    ["NodeUnpublishVolume", {}],
    ["NodeUnpublishVolume", { volume_id: "v" }],
    ["NodeGetVolumeStats", { volume_path: "some/path" }],
    ["NodeGetVolumeStats", { volume_id: "v" }],
    ["NodeExpandVolume", { volume_path: target }],
    ["NodeExpandVolume", { volume_id: "v" }],
  ])("%s %j", async (method, req) => {
    expect(await h.codeOf(method, req)).toBe(status.INVALID_ARGUMENT);
  });
});

describe("volumes that are not where the request says", () => {
  it("publishing a volume that was never staged is FAILED_PRECONDITION", async () => {
    const v = await newVolume(h, "unstaged", 64n * MiB);
    expect(await h.codeOf("NodePublishVolume", publishReq(v))).toBe(status.FAILED_PRECONDITION);
    expect(await readdir(join(h.dir, "pods", "unstaged"))).toEqual([]);
  });

  it("unpublish of an unknown target and unstage of an unstaged volume succeed", async () => {
    const v = await newVolume(h, "never", 64n * MiB);
    expect(await h.codeOf("NodeUnpublishVolume", unpublishReq(v))).toBe("OK");
    expect(await h.codeOf("NodeUnstageVolume", unstageReq(v))).toBe("OK");
    expect(
      await h.codeOf("NodeUnstageVolume", { ...unstageReq(v), staging_target_path: join(h.dir, "none") }),
    ).toBe("OK");
  });

  it("a backing file outside the pool is refused, a missing one is NOT_FOUND", async () => {
    const v = await newVolume(h, "outside", 64n * MiB);
    const elsewhere = join(h.dir, "elsewhere.img");
    await sparseFile(elsewhere, 64n * MiB);
    // The host attached that file itself; the refused stage must leave its loop device alone.
    const { stdout } = await exec("losetup", ["--find", "--show", "--", elsewhere]);
    const hostDevice = stdout.trim();
    const outside = { ...stageReq(v), volume_context: loopContext(elsewhere) };
    expect(await h.codeOf("NodeStageVolume", outside)).toBe(status.INVALID_ARGUMENT);
    expect(await h.codeOf("NodeUnstageVolume", unstageReq(v))).toBe("OK");
    expect(await loopDeviceOf(elsewhere)).toBe(hostDevice);
    await exec("losetup", ["--detach", hostDevice]);
    const dotdot = { ...stageReq(v), volume_context: loopContext(`${h.pool}/../elsewhere.img`) };
    expect(await h.codeOf("NodeStageVolume", dotdot)).toBe(status.INVALID_ARGUMENT);
    const link = join(dirname(v.file), "link.img");
    await symlink(elsewhere, link);
    const viaLink = { ...stageReq(v), volume_context: loopContext(link) };
    expect(await h.codeOf("NodeStageVolume", viaLink)).toBe(status.INVALID_ARGUMENT);
    expect(await loopDeviceOf(elsewhere)).toBeUndefined();
    const gone = { ...stageReq(v), volume_context: loopContext(join(h.pool, "vols", "nope", "disk.img")) };
    expect(await h.codeOf("NodeStageVolume", gone)).toBe(status.NOT_FOUND);
    expect(await readdir(v.staging)).toEqual([]);
  });
});

describe("conflicts", () => {
  it("a staging path holding another volume is FAILED_PRECONDITION", async () => {
    const a = await newVolume(h, "owner", 64n * MiB);
    const b = await newVolume(h, "intruder", 64n * MiB);
    await h.call("NodeStageVolume", stageReq(a));
    expect(await h.codeOf("NodeStageVolume", { ...stageReq(b), staging_target_path: a.staging })).toBe(
      status.FAILED_PRECONDITION,
    );
    // Unstaging the other volume from this path leaves the owner alone.
    expect(await h.codeOf("NodeUnstageVolume", { volume_id: b.id, staging_target_path: a.staging })).toBe(
      "OK",
    );
    expect(await mountsUnder(a.staging)).toEqual([join(a.staging, "fs")]);
    await h.call("NodeUnstageVolume", unstageReq(a));
  });

  it("restaging with a different filesystem or access type is ALREADY_EXISTS", async () => {
    const v = await newVolume(h, "restage", 64n * MiB);
    await h.call("NodeStageVolume", stageReq(v, mountCapability("ext4")));
    expect(await h.codeOf("NodeStageVolume", stageReq(v, mountCapability("xfs")))).toBe(
      status.ALREADY_EXISTS,
    );
    expect(await h.codeOf("NodeStageVolume", stageReq(v, blockCapability()))).toBe(status.ALREADY_EXISTS);
    expect(await blkidValue((await loopDeviceOf(v.file))!, "TYPE")).toBe("ext4");
    await h.call("NodeUnstageVolume", unstageReq(v));
  });

  it("a device with a partition table is neither formatted nor mounted", async () => {
    const v = await newVolume(h, "partitioned", 64n * MiB);
    const mbr = Buffer.alloc(512);
    mbr.set([0x00, 0x20, 0x21, 0x00, 0x83, 0xfe, 0xff, 0xff], 446);
    mbr.writeUInt32LE(2048, 454);
    mbr.writeUInt32LE(Number((64n * MiB) / 512n) - 2048, 458);
    mbr.set([0x55, 0xaa], 510);
    const f = await open(v.file, "r+");
    await f.write(mbr, 0, 512, 0);
    await f.close();
    const err = await h.call("NodeStageVolume", stageReq(v)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect((err as { details: string }).details).toMatch(/dos partition table/);
    expect(await blkidValue(v.file, "PTTYPE")).toBe("dos");
    expect(await loopDeviceOf(v.file)).toBeUndefined();
  });

  it("an unmounted target with files in it is left in place", async () => {
    const v = await newVolume(h, "leftover", 64n * MiB);
    await mkdir(v.target);
    await writeFile(join(v.target, "precious"), "x");
    expect(await h.codeOf("NodeUnpublishVolume", unpublishReq(v))).toBe(status.INTERNAL);
    expect(await readdir(v.target)).toEqual(["precious"]);
  });
});

describe("per-volume locks", () => {
  const ctx = (method: string): RequestContext => ({
    requestId: "t",
    method,
    log: createLogger("silent"),
    deadline: Number.POSITIVE_INFINITY,
    signal: new AbortController().signal,
  });

  it("a second operation on a volume that is busy is ABORTED at once", async () => {
    const v = await newVolume(h, "locked", 64n * MiB);
    const node = createNodeService({ nodeId: "n", loopAllowedRoot: h.pool });
    const req: NodeStageVolumeRequest = {
      ...stageReq(v),
      publish_context: {},
      secrets: {},
      volume_capability: {
        access_type: "mount",
        ...mountCapability(),
      } as NodeStageVolumeRequest["volume_capability"],
    };
    const first = node.NodeStageVolume(req, ctx("NodeStageVolume"));
    const second = node.NodeUnstageVolume(unstageReq(v), ctx("NodeUnstageVolume"));
    await expect(second).rejects.toBeInstanceOf(CsiError);
    await expect(second).rejects.toMatchObject({ code: status.ABORTED });
    await first;
    await node.NodeUnstageVolume(unstageReq(v), ctx("NodeUnstageVolume"));
    expect(await loopDeviceOf(v.file)).toBeUndefined();
  });

  it("a stage that fails after attaching detaches again and leaves the staging directory empty", async () => {
    const v = await newVolume(h, "mkfs-fails", 64n * MiB);
    const failingMkfs: CommandRunner = (file, args, options) =>
      file.startsWith("mkfs.")
        ? Promise.reject(new CommandError(file, args, 1, "", "injected: no space left on device", "exit 1"))
        : execFileRunner(file, args, options);
    const node = createNodeService({ nodeId: "n", loopAllowedRoot: h.pool, run: failingMkfs });
    const req = { ...stageReq(v), publish_context: {}, secrets: {} } as unknown as NodeStageVolumeRequest;
    await expect(node.NodeStageVolume(req, ctx("NodeStageVolume"))).rejects.toMatchObject({
      code: status.INTERNAL,
      message: expect.stringMatching(/injected/),
    });
    expect(await loopDeviceOf(v.file)).toBeUndefined();
    expect(await mountsUnder(v.staging)).toEqual([]);
    expect(await readdir(v.staging)).toEqual([]);
  });

  it("the loop transport is off unless a pool directory is configured", async () => {
    const v = await newVolume(h, "no-loop", 64n * MiB);
    const node = createNodeService({ nodeId: "n" });
    const req = { ...stageReq(v), publish_context: {}, secrets: {} } as unknown as NodeStageVolumeRequest;
    await expect(node.NodeStageVolume(req, ctx("NodeStageVolume"))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringMatching(/transport loop is not enabled/),
    });
  });
});

describe("publish flags", () => {
  it("does not leave a target behind when the publish fails", async () => {
    const v = await newVolume(h, "staged-block", 64n * MiB);
    await h.call("NodeStageVolume", stageReq(v, blockCapability()));
    // Published as a filesystem: refused before anything is created at the target.
    expect(await h.codeOf("NodePublishVolume", publishReq(v, false, mountCapability()))).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(await readdir(join(h.dir, "pods", "staged-block"))).toEqual([]);
    await h.call("NodeUnstageVolume", unstageReq(v));
  });
});
