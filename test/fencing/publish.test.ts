import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET_SOCKET } from "../../src/sim/target.js";
import { hostTag } from "../../src/storage/index.js";
import {
  blockCapability,
  createVolumeRequest,
  Harness,
  mountCapability,
  NQN_PREFIX,
  useHarness,
} from "../controller/harness.js";
import { sshExec } from "../helpers/sim.js";
import { exec, loopDevicesUnder, type NodeHarness, startNodeHarness } from "../node/host.js";

/*
 * Export fencing end to end: the Controller service against the emulator, and two node plugins
 * (two host NQNs) whose loop transport asks the emulator's NVMe target stand-in before attaching,
 * as `nvme connect` asks a real target. Run under each reading of `nvme-tcp-server-allow-host-name`.
 */

const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:0a0a0a0a-0000-4000-8000-00000000000a";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:0b0b0b0b-0000-4000-8000-00000000000b";
const NODE_A = `node-a/${HOST_A}`;
const NODE_B = `node-b/${HOST_B}`;

const h = useHarness({ transport: "loop" });
let a: NodeHarness;
let b: NodeHarness;

beforeAll(async () => {
  const loopTargetSocket = join(h.sim.dataDir, TARGET_SOCKET);
  const common = { loopAllowedRoot: h.sim.poolMountPath, loopTargetSocket };
  a = await startNodeHarness("fence-a", { ...common, nodeId: "node-a", hostNqn: HOST_A });
  b = await startNodeHarness("fence-b", { ...common, nodeId: "node-b", hostNqn: HOST_B });
});

afterAll(async () => {
  try {
    await a?.close();
    await b?.close();
  } finally {
    for (const device of await loopDevicesUnder(h.sim.poolMountPath)) {
      await exec("losetup", ["--detach", device]).catch(() => undefined);
    }
  }
});

async function create(name: string, capability = blockCapability()) {
  const res = await h.call("CreateVolume", createVolumeRequest(name, { capabilities: [capability] }));
  return { id: res.volume.volume_id as string, context: res.volume.volume_context as Record<string, string> };
}

function publishRequest(volumeId: string, nodeId: string, capability = blockCapability()) {
  return {
    volume_id: volumeId,
    node_id: nodeId,
    volume_capability: capability,
    readonly: false,
    secrets: {},
    volume_context: {},
  };
}

function unpublishRequest(volumeId: string, nodeId: string) {
  return { volume_id: volumeId, node_id: nodeId, secrets: {} };
}

/** NodeStageVolume of a raw block volume on `node`, then unstaged again when it worked. */
async function stageOutcome(
  node: NodeHarness,
  volume: { id: string; context: Record<string, string> },
  mode = "SINGLE_NODE_WRITER",
) {
  const staging = join(node.dir, "staging", `${volume.id}-${Math.random().toString(16).slice(2)}`);
  await mkdir(staging, { recursive: true });
  const request = {
    volume_id: volume.id,
    staging_target_path: staging,
    volume_capability: { block: {}, access_mode: { mode } },
    volume_context: volume.context,
  };
  const outcome = await node.outcome("NodeStageVolume", request);
  if (outcome.code === 0) {
    await node.call("NodeUnstageVolume", { volume_id: volume.id, staging_target_path: staging });
  }
  return outcome;
}

/** A raw block volume staged and published on `node`, as kubelet does; `health()` is NodeGetVolumeStats' condition. */
async function inUse(
  node: NodeHarness,
  volume: { id: string; context: Record<string, string> },
  mode = "SINGLE_NODE_WRITER",
) {
  const base = join(node.dir, "held", `${volume.id}-${Math.random().toString(16).slice(2)}`);
  const staging = join(base, "staging");
  const target = join(base, "pod", "dev");
  await mkdir(staging, { recursive: true });
  await mkdir(join(base, "pod"), { recursive: true });
  const capability = { block: {}, access_mode: { mode } };
  await node.call("NodeStageVolume", {
    volume_id: volume.id,
    staging_target_path: staging,
    volume_capability: capability,
    volume_context: volume.context,
  });
  await node.call("NodePublishVolume", {
    volume_id: volume.id,
    staging_target_path: staging,
    target_path: target,
    volume_capability: capability,
    volume_context: volume.context,
    readonly: false,
  });
  return {
    health: async () =>
      (
        await node.call<{ volume_condition: { abnormal: boolean; message: string } }>("NodeGetVolumeStats", {
          volume_id: volume.id,
          volume_path: target,
        })
      ).volume_condition,
    release: async () => {
      await node.call("NodeUnpublishVolume", { volume_id: volume.id, target_path: target });
      await node.call("NodeUnstageVolume", { volume_id: volume.id, staging_target_path: staging });
    },
  };
}

async function diskOf(volumeId: string) {
  const disk = await h.client.getDisk(volumeId);
  if (disk === null) throw new Error(`no disk ${volumeId}`);
  return { exported: disk.nvmeExport, allow: disk.allowHostName };
}

describe("a new volume", () => {
  it("is exported to no host, and a node that was not published is refused FAILED_PRECONDITION", async () => {
    const v = await create("fence-new");
    expect(await diskOf(v.id)).toEqual({ exported: false, allow: "" });
    const refused = await stageOutcome(a, v);
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.message).toContain(HOST_A);
  });
});

describe("ControllerPublishVolume / ControllerUnpublishVolume", () => {
  it("allow exactly the published node, idempotently, and revoke it again", async () => {
    const v = await create("fence-rwo");
    await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A));
    expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_A });
    expect(await h.client.getDisk(v.id)).toMatchObject({ nvmePort: 4420, nqn: `${NQN_PREFIX}:${v.id}` });
    expect(await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A))).toEqual({
      publish_context: {},
    });
    expect((await stageOutcome(a, v)).code).toBe(0);
    expect((await stageOutcome(b, v)).code).toBe(status.FAILED_PRECONDITION);

    // Single-node: another node is refused while the first holds it, and nothing changes.
    const conflict = await h.outcome("ControllerPublishVolume", publishRequest(v.id, NODE_B));
    expect(conflict.code).toBe(status.FAILED_PRECONDITION);
    expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_A });
    // So is deleting it while published.
    await h.expectCode("DeleteVolume", { volume_id: v.id, secrets: {} }, status.FAILED_PRECONDITION);

    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    expect((await diskOf(v.id)).exported).toBe(false);
    expect((await stageOutcome(a, v)).code).toBe(status.FAILED_PRECONDITION);
    // Repeated, for a node that never had it, for a node id that is not ours: all OK.
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_B));
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, "some-fake-node-id"));
    expect((await diskOf(v.id)).exported).toBe(false);

    await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_B));
    expect((await stageOutcome(b, v)).code).toBe(0);
    expect((await stageOutcome(a, v)).code).toBe(status.FAILED_PRECONDITION);
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_B));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });

  it("answer the CSI codes for bad, unknown and gone input", async () => {
    const v = await create("fence-codes");
    const missingCap = { ...publishRequest(v.id, NODE_A), volume_capability: null };
    await h.expectCode("ControllerPublishVolume", missingCap, status.INVALID_ARGUMENT);
    await h.expectCode("ControllerPublishVolume", publishRequest("", NODE_A), status.INVALID_ARGUMENT);
    await h.expectCode("ControllerPublishVolume", publishRequest(v.id, ""), status.INVALID_ARGUMENT);
    await h.expectCode(
      "ControllerPublishVolume",
      publishRequest(v.id, "some-fake-node-id"),
      status.NOT_FOUND,
    );
    await h.expectCode("ControllerPublishVolume", publishRequest("fake-vol-id", NODE_A), status.NOT_FOUND);
    const gone = "pvc-00000000-0000-5000-8000-000000000000";
    await h.expectCode("ControllerPublishVolume", publishRequest(gone, NODE_A), status.NOT_FOUND);
    await h.expectCode("ControllerUnpublishVolume", unpublishRequest("", NODE_A), status.INVALID_ARGUMENT);
    await h.call("ControllerUnpublishVolume", unpublishRequest(gone, NODE_A));
    await h.call("ControllerUnpublishVolume", unpublishRequest("fake-vol-id", NODE_A));
    // A filesystem volume is never shared, whatever the access mode asks.
    await h.expectCode(
      "ControllerPublishVolume",
      publishRequest(v.id, NODE_A, mountCapability("MULTI_NODE_MULTI_WRITER")),
      status.INVALID_ARGUMENT,
    );
    expect((await diskOf(v.id)).exported).toBe(false);
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });
});

describe("MULTI_NODE_MULTI_WRITER raw block, under each reading of the allow list", () => {
  const shared = blockCapability("MULTI_NODE_MULTI_WRITER");

  it("with a RouterOS that takes a list, allows each published node", async () => {
    await h.sim.control.setSettings({ allow_host_name_form: "list" });
    const listing = new Harness(h.sim, { transport: "loop", allowHostList: true });
    try {
      const v = await create("fence-mnmw-list", shared);
      await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_A, shared));
      await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_B, shared));
      expect(await diskOf(v.id)).toEqual({ exported: true, allow: `${HOST_A},${HOST_B}` });
      expect((await stageOutcome(a, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(0);
      expect((await stageOutcome(b, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(0);
      await listing.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
      expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_B });
      expect((await stageOutcome(a, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(status.FAILED_PRECONDITION);
      // An empty node id unpublishes from every node.
      await listing.call("ControllerUnpublishVolume", unpublishRequest(v.id, ""));
      expect((await diskOf(v.id)).exported).toBe(false);
      await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
    } finally {
      listing.close();
      await h.sim.control.setSettings({ allow_host_name_form: "single" });
    }
  });

  it("without list support configured, a second node is FAILED_PRECONDITION and the first keeps it", async () => {
    const v = await create("fence-mnmw-single", shared);
    await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A, shared));
    const second = await h.outcome("ControllerPublishVolume", publishRequest(v.id, NODE_B, shared));
    expect(second.code).toBe(status.FAILED_PRECONDITION);
    expect(second.message).toContain("--rds-allow-host-list");
    expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_A });
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });

  it("list support wrongly configured on a single-host RouterOS fails closed: neither node gets in", async () => {
    const listing = new Harness(h.sim, { transport: "loop", allowHostList: true });
    try {
      const v = await create("fence-mnmw-wrong", shared);
      await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_A, shared));
      await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_B, shared));
      expect((await stageOutcome(a, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(status.FAILED_PRECONDITION);
      expect((await stageOutcome(b, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(status.FAILED_PRECONDITION);
      await listing.call("ControllerUnpublishVolume", unpublishRequest(v.id, ""));
      await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
    } finally {
      listing.close();
    }
  });
});

describe("a host that is still connected when it is revoked", () => {
  const shared = blockCapability("MULTI_NODE_MULTI_WRITER");

  it("loses its session when the last revoke turns the export off, whatever the setting", async () => {
    for (const change of ["keep-connections", "drop-connections"]) {
      await h.sim.control.setSettings({ allow_host_change: change });
      const v = await create(`fence-revoke-last-${change}`);
      await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A));
      const held = await inUse(a, v);
      try {
        expect((await held.health()).abnormal).toBe(false);
        // A node cut off from the API server: Kubernetes force-detaches after its timeout.
        await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
        const condition = await held.health();
        expect(condition.abnormal).toBe(true);
        expect(condition.message).toContain("ended the session");
      } finally {
        await held.release();
      }
      await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
    }
    await h.sim.control.setSettings({ allow_host_change: "keep-connections" });
  });

  it("keeps or loses its session when only the allow list changes, as the setting says", async () => {
    await h.sim.control.setSettings({ allow_host_name_form: "list" });
    const listing = new Harness(h.sim, { transport: "loop", allowHostList: true });
    try {
      for (const [change, abnormal] of [
        ["keep-connections", false],
        ["drop-connections", true],
      ] as const) {
        await h.sim.control.setSettings({ allow_host_change: change });
        const v = await create(`fence-revoke-one-${change}`, shared);
        await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_A, shared));
        await listing.call("ControllerPublishVolume", publishRequest(v.id, NODE_B, shared));
        const held = await inUse(a, v, "MULTI_NODE_MULTI_WRITER");
        try {
          await listing.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
          expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_B });
          expect((await held.health()).abnormal, change).toBe(abnormal);
          // Either way it cannot connect again.
          expect((await stageOutcome(a, v, "MULTI_NODE_MULTI_WRITER")).code).toBe(status.FAILED_PRECONDITION);
        } finally {
          await held.release();
        }
        await listing.call("ControllerUnpublishVolume", unpublishRequest(v.id, ""));
        await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
      }
    } finally {
      listing.close();
      await h.sim.control.setSettings({
        allow_host_name_form: "single",
        allow_host_change: "keep-connections",
      });
    }
  });
});

describe("a volume made before export fencing (exported to every host)", () => {
  it("is narrowed to the node at its next publish", async () => {
    const v = await create("fence-legacy");
    const opened = await sshExec(
      h.sim,
      `/disk set [find slot="${v.id}"] nvme-tcp-export=yes nvme-tcp-server-allow-host-name=""`,
    );
    expect(opened.stdout).toBe("");
    expect((await stageOutcome(b, v)).code).toBe(0);
    await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A));
    expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_A });
    expect((await stageOutcome(b, v)).code).toBe(status.FAILED_PRECONDITION);
    expect((await stageOutcome(a, v)).code).toBe(0);
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });
});

describe("NodeGetInfo", () => {
  it("names the node and the host NQN it presents", async () => {
    expect((await a.call("NodeGetInfo", {})).node_id).toBe(NODE_A);
  });
});

describe("a read-only publish (PUBLISH_READONLY)", () => {
  const filesystem = mountCapability("SINGLE_NODE_WRITER");

  async function commentOf(volumeId: string): Promise<string> {
    return (await h.client.getDisk(volumeId))?.comment ?? "";
  }

  it("is remembered on the RDS: the other mode on the same node is ALREADY_EXISTS, unpublish clears it", async () => {
    const v = await create("fence-ro-modes", filesystem);
    const created = await commentOf(v.id);
    expect(created).toMatch(/^rds-csi v1 /);
    const ro = { ...publishRequest(v.id, NODE_A, filesystem), readonly: true };
    const rw = publishRequest(v.id, NODE_A, filesystem);

    expect(await h.call("ControllerPublishVolume", rw)).toEqual({ publish_context: {} });
    const conflict = await h.outcome("ControllerPublishVolume", ro);
    expect(conflict.code).toBe(status.ALREADY_EXISTS);
    expect(conflict.message).toContain("read-write");
    expect(await commentOf(v.id)).toBe(created);
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));

    expect(await h.call("ControllerPublishVolume", ro)).toEqual({ publish_context: { readOnly: "true" } });
    expect(await diskOf(v.id)).toEqual({ exported: true, allow: HOST_A });
    // Recorded beside what the comment already held (pv, pvc, source), which stays as it was.
    const published = await commentOf(v.id);
    const words = published.split(" ");
    expect(words).toEqual(expect.arrayContaining([...created.split(" "), `ro=${hostTag(HOST_A)}`]));
    expect(words).toHaveLength(created.split(" ").length + 1);
    // Idempotent with the same flag; the other flag is refused, also by a controller that never saw the publish.
    expect(await h.call("ControllerPublishVolume", ro)).toEqual({ publish_context: { readOnly: "true" } });
    const fresh = new Harness(h.sim, { transport: "loop" });
    try {
      const again = await fresh.outcome("ControllerPublishVolume", rw);
      expect(again.code).toBe(status.ALREADY_EXISTS);
      expect(again.message).toContain("read-only");
    } finally {
      fresh.close();
    }
    expect(await commentOf(v.id)).toBe(published);

    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    expect(await commentOf(v.id)).toBe(created);
    expect((await diskOf(v.id)).exported).toBe(false);
    expect(await h.call("ControllerPublishVolume", rw)).toEqual({ publish_context: {} });
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });

  /** Stages and publishes `volume` on node A with `publishContext`, runs `check` on the target, then tears down. */
  async function withPublished(
    volume: { id: string; context: Record<string, string> },
    capability: ReturnType<typeof mountCapability>,
    publishContext: Record<string, string>,
    check: (target: string) => Promise<void>,
  ) {
    const base = join(a.dir, "ro", `${volume.id}-${Math.random().toString(16).slice(2)}`);
    const staging = join(base, "staging");
    const target = join(base, "pod", "target");
    await mkdir(staging, { recursive: true });
    await mkdir(join(base, "pod"), { recursive: true });
    const common = { volume_id: volume.id, volume_capability: capability, volume_context: volume.context };
    await a.call("NodeStageVolume", {
      ...common,
      staging_target_path: staging,
      publish_context: publishContext,
    });
    try {
      await a.call("NodePublishVolume", {
        ...common,
        staging_target_path: staging,
        target_path: target,
        publish_context: publishContext,
        readonly: false,
      });
      try {
        await check(target);
      } finally {
        await a.call("NodeUnpublishVolume", { volume_id: volume.id, target_path: target });
      }
    } finally {
      await a.call("NodeUnstageVolume", { volume_id: volume.id, staging_target_path: staging });
    }
  }

  it("makes the node mount the filesystem read-only", async () => {
    const v = await create("fence-ro-fs", filesystem);
    // Formatted by a read-write publish first: a read-only stage never makes a filesystem.
    await h.call("ControllerPublishVolume", publishRequest(v.id, NODE_A, filesystem));
    await withPublished(v, filesystem, {}, async (target) => {
      await writeFile(join(target, "written"), "rw");
    });
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));

    const res = await h.call("ControllerPublishVolume", {
      ...publishRequest(v.id, NODE_A, filesystem),
      readonly: true,
    });
    await withPublished(v, filesystem, res.publish_context, async (target) => {
      expect(await readFile(join(target, "written"), "utf8")).toBe("rw");
      await expect(writeFile(join(target, "other"), "x")).rejects.toMatchObject({ code: "EROFS" });
    });
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });

  it("makes the node's raw block device read-only, and leaves no read-only flag behind", async () => {
    const block = blockCapability("SINGLE_NODE_WRITER");
    const v = await create("fence-ro-block", block);
    const res = await h.call("ControllerPublishVolume", {
      ...publishRequest(v.id, NODE_A, block),
      readonly: true,
    });
    expect(res.publish_context).toEqual({ readOnly: "true" });
    let device = "";
    await withPublished(v, block, res.publish_context, async (target) => {
      const devices = await loopDevicesUnder(h.sim.poolMountPath);
      expect(devices).toHaveLength(1);
      device = devices[0]!;
      expect((await exec("blockdev", ["--getro", device])).stdout.trim()).toBe("1");
      await expect(
        (async () => {
          const file = await open(target, "r+");
          try {
            await file.write(Buffer.alloc(512), 0, 512, 0);
          } finally {
            await file.close();
          }
        })(),
      ).rejects.toThrow();
    });
    // Unstaged: the loop device is free again and writable for whichever volume it serves next.
    expect(await loopDevicesUnder(h.sim.poolMountPath)).toEqual([]);
    expect((await exec("blockdev", ["--getro", device])).stdout.trim()).toBe("0");
    await h.call("ControllerUnpublishVolume", unpublishRequest(v.id, NODE_A));
    await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
  });
});

describe("the node attach limit (--max-volumes-per-node)", () => {
  it("refuses a publish beyond it with RESOURCE_EXHAUSTED, per node, and frees a slot on unpublish", async () => {
    const limited = new Harness(h.sim, { transport: "loop", maxVolumesPerNode: 2 });
    const volumes = [
      await create("fence-limit-1"),
      await create("fence-limit-2"),
      await create("fence-limit-3"),
    ] as const;
    const [v1, v2, v3] = volumes;
    try {
      await limited.call("ControllerPublishVolume", publishRequest(v1.id, NODE_A));
      await limited.call("ControllerPublishVolume", publishRequest(v2.id, NODE_A));
      const over = await limited.outcome("ControllerPublishVolume", publishRequest(v3.id, NODE_A));
      expect(over.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(over.message).toContain("--max-volumes-per-node=2");
      expect(over.message).toContain(NODE_A);
      expect(await diskOf(v3.id)).toEqual({ exported: false, allow: "" });
      // At the limit, a repeated publish of a volume it has is still OK; another node has its own count.
      await limited.call("ControllerPublishVolume", publishRequest(v1.id, NODE_A));
      await limited.call("ControllerPublishVolume", publishRequest(v3.id, NODE_B));
      await limited.call("ControllerUnpublishVolume", unpublishRequest(v3.id, NODE_B));

      await limited.call("ControllerUnpublishVolume", unpublishRequest(v1.id, NODE_A));
      await limited.call("ControllerPublishVolume", publishRequest(v3.id, NODE_A));
      expect(await diskOf(v3.id)).toEqual({ exported: true, allow: HOST_A });
    } finally {
      for (const v of volumes) {
        await limited.call("ControllerUnpublishVolume", unpublishRequest(v.id, ""));
        await h.call("DeleteVolume", { volume_id: v.id, secrets: {} });
      }
      limited.close();
    }
  });

  it("is reported by the node in NodeGetInfo", async () => {
    const limitedNode = await startNodeHarness("fence-limit-node", {
      nodeId: "node-c",
      hostNqn: HOST_A,
      maxVolumesPerNode: 2,
    });
    try {
      expect((await limitedNode.call("NodeGetInfo", {})).max_volumes_per_node).toBe("2");
    } finally {
      await limitedNode.close();
    }
  });
});
