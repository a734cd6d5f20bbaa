/**
 * Replays the external-attacher v4 call pattern against the whole driver (rds-csi all as a process,
 * emulator over SSH, loop transport admitted by the emulator's NVMe target stand-in): start-up
 * capability checks, ControllerPublishVolume for a VolumeAttachment (volume handle, the node id
 * kubelet put in CSINode, the capability from the PV, its volume attributes, the
 * controllerPublishSecretRef secrets), the same call again on every resync, kubelet staging with the
 * returned publish_context, a second node's attachment failing until the first is detached, and
 * ControllerUnpublishVolume for attachments whose node or volume is gone.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGrpcError } from "../../src/demo/csi-client.js";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";

const MiB = 1024n * 1024n;
const workDir = mkdtempSync(join(tmpdir(), "rds-csi-attacher-"));
let stack: LocalStack;
const volumes = new Set<string>();

/** A PV with accessModes [ReadWriteOnce], volumeMode Filesystem, csi.fsType ext4, as the attacher translates it. */
const rwo = {
  mount: { fs_type: "ext4", mount_flags: [] },
  access_mode: { mode: "SINGLE_NODE_WRITER" },
};
const OTHER_NODE = "node-b/nqn.2014-08.org.nvmexpress:uuid:0b0b0b0b-0000-4000-8000-00000000000b";
const SECRETS = { "publish-token": "s3cret-attacher" };

interface Volume {
  volume_id: string;
  volume_context: Record<string, string>;
}

async function provision(): Promise<Volume> {
  const res = await stack.csi.call<{ volume: Volume }>("Controller", "CreateVolume", {
    name: `pvc-${randomUUID()}`,
    capacity_range: { required_bytes: String(64n * MiB), limit_bytes: "0" },
    volume_capabilities: [rwo],
    parameters: {},
    secrets: {},
    volume_content_source: null,
  });
  volumes.add(res.volume.volume_id);
  return res.volume;
}

/** csi-attacher's attach of one VolumeAttachment; `readonly` is the PV's `spec.csi.readOnly`. */
function attach(volume: Volume, nodeId: string, readonly = false) {
  return stack.csi.call<{ publish_context: Record<string, string> }>(
    "Controller",
    "ControllerPublishVolume",
    {
      volume_id: volume.volume_id,
      node_id: nodeId,
      volume_capability: rwo,
      readonly,
      secrets: SECRETS,
      volume_context: volume.volume_context,
    },
  );
}

function detach(volumeId: string, nodeId: string) {
  return stack.csi.call("Controller", "ControllerUnpublishVolume", {
    volume_id: volumeId,
    node_id: nodeId,
    secrets: SECRETS,
  });
}

async function codeOf(call: Promise<unknown>): Promise<status | "OK"> {
  try {
    await call;
    return "OK";
  } catch (err) {
    if (!isGrpcError(err)) throw err;
    return err.code;
  }
}

/** kubelet's MountDevice with the attachment's metadata as publish_context. */
function stage(volume: Volume, publishContext: Record<string, string>) {
  const staging = join(workDir, "staging", volume.volume_id);
  mkdirSync(staging, { recursive: true });
  const request = {
    volume_id: volume.volume_id,
    staging_target_path: staging,
    volume_capability: rwo,
    volume_context: volume.volume_context,
    publish_context: publishContext,
    secrets: {},
  };
  return {
    stage: () => stack.csi.call("Node", "NodeStageVolume", request),
    unstage: () =>
      stack.csi.call("Node", "NodeUnstageVolume", {
        volume_id: volume.volume_id,
        staging_target_path: staging,
      }),
  };
}

beforeAll(async () => {
  stack = await startLocalStack({ workDir: join(workDir, "stack"), logLevel: "debug" });
});

afterAll(async () => {
  for (const id of volumes) {
    await stack?.csi
      .call("Controller", "ControllerUnpublishVolume", { volume_id: id, node_id: "", secrets: {} })
      .catch(() => {});
    await stack?.csi.call("Controller", "DeleteVolume", { volume_id: id, secrets: {} }).catch(() => {});
  }
  const problems = (await stack?.stop()) ?? [];
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

describe("external-attacher call pattern", () => {
  it("passes the start-up checks: PUBLISH_UNPUBLISH_VOLUME and PUBLISH_READONLY, and no ListVolumes reconciliation to serve", async () => {
    const caps = await stack.csi.call<{ capabilities: Array<{ rpc: { type: string } }> }>(
      "Controller",
      "ControllerGetCapabilities",
      {},
    );
    const types = caps.capabilities.map((c) => c.rpc.type);
    expect(types).toContain("PUBLISH_UNPUBLISH_VOLUME");
    // Without it the attacher never lists volumes to re-check attachments.
    expect(types).not.toContain("LIST_VOLUMES_PUBLISHED_NODES");
    // With it the attacher passes the PV's spec.csi.readOnly instead of always false.
    expect(types).toContain("PUBLISH_READONLY");
  });

  it("attaches a read-only PV read-only, identically on resync, and tells kubelet so", async () => {
    const volume = await provision();
    const { node_id: nodeId } = await stack.csi.call<{ node_id: string }>("Node", "NodeGetInfo", {});
    const first = await attach(volume, nodeId, true);
    expect(first.publish_context).toEqual({ readOnly: "true" });
    expect(await attach(volume, nodeId, true)).toEqual(first);
    // The same node's VolumeAttachment for a read-write PV of it is refused until detached.
    expect(await codeOf(attach(volume, nodeId, false))).toBe(status.ALREADY_EXISTS);
    await detach(volume.volume_id, nodeId);
    expect((await attach(volume, nodeId, false)).publish_context).toEqual({});
    await detach(volume.volume_id, nodeId);
  });

  it("attaches to the node kubelet registered, again identically on resync, and kubelet can then stage", async () => {
    const volume = await provision();
    const { node_id: nodeId } = await stack.csi.call<{ node_id: string }>("Node", "NodeGetInfo", {});
    expect(nodeId).toMatch(/^local-node\/nqn\./);
    const fenced = stage(volume, {});
    // Before the attachment, the RDS does not let this node in.
    expect(await codeOf(fenced.stage())).toBe(status.FAILED_PRECONDITION);
    const first = await attach(volume, nodeId);
    expect(await attach(volume, nodeId)).toEqual(first);
    const kubelet = stage(volume, first.publish_context);
    await kubelet.stage();
    // A second node's attachment of the ReadWriteOnce volume fails (recorded in its attachError and
    // retried by the attacher) until the first is detached.
    expect(await codeOf(attach(volume, OTHER_NODE))).toBe(status.FAILED_PRECONDITION);
    await kubelet.unstage();
    await detach(volume.volume_id, nodeId);
    expect(await codeOf(attach(volume, OTHER_NODE))).toBe("OK");
    // The first node, no longer attached, is refused by the RDS.
    expect(await codeOf(stage(volume, {}).stage())).toBe(status.FAILED_PRECONDITION);
    await detach(volume.volume_id, OTHER_NODE);
  });

  it("detaches idempotently, also when the node or the volume is gone", async () => {
    const volume = await provision();
    const { node_id: nodeId } = await stack.csi.call<{ node_id: string }>("Node", "NodeGetInfo", {});
    await attach(volume, nodeId);
    await detach(volume.volume_id, nodeId);
    await detach(volume.volume_id, nodeId);
    // A Node object deleted with its CSINode: the attacher detaches with the id it recorded.
    await detach(
      volume.volume_id,
      "deleted-node/nqn.2014-08.org.nvmexpress:uuid:dead0000-0000-4000-8000-000000000000",
    );
    await stack.csi.call("Controller", "DeleteVolume", { volume_id: volume.volume_id, secrets: {} });
    volumes.delete(volume.volume_id);
    await detach(volume.volume_id, nodeId);
  });

  it("never logs the publish secrets", async () => {
    const requests = stack.driver.output.filter(
      (l) => l.includes('"msg":"request"') && /"method":"Controller(Publish|Unpublish)Volume"/.test(l),
    );
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.every((l) => l.includes("[REDACTED]"))).toBe(true);
    expect(stack.driver.output.join("\n")).not.toContain("s3cret-attacher");
  });
});
