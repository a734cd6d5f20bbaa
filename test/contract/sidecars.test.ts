/**
 * Replays the call patterns of the Kubernetes sidecars against the whole driver (rds-csi all as a
 * process, emulator over SSH): csi-snapshotter v8 (start-up checks, CreateSnapshot repeated until
 * ready, ListSnapshots by id for pre-provisioned contents, DeleteSnapshot with secrets, which codes
 * it retries) and external-provisioner v6 (restore with content source, extra-create-metadata).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGrpcError } from "../../src/demo/csi-client.js";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";

const MiB = 1024n * 1024n;
const workDir = mkdtempSync(join(tmpdir(), "rds-csi-contract-"));
let stack: LocalStack;
const created = { volumes: new Set<string>(), snapshots: new Set<string>() };

/** csi-snapshotter's isCSIFinalError: these codes keep the content "being created" and are retried. */
const NON_FINAL = new Set([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
]);

interface Snapshot {
  snapshot_id: string;
  source_volume_id: string;
  creation_time: { seconds: string; nanos: number };
  size_bytes: string;
  ready_to_use: boolean;
}

const cap = { mount: { fs_type: "ext4", mount_flags: [] }, access_mode: { mode: "SINGLE_NODE_WRITER" } };

async function provision(pvcUid = randomUUID(), bytes = 64n * MiB, source: unknown = null) {
  // external-provisioner: name pvc-<PVC UID>, class parameters minus secret keys, plus the
  // --extra-create-metadata keys.
  const res = await stack.csi.call<{
    volume: { volume_id: string; capacity_bytes: string; content_source: unknown };
  }>("Controller", "CreateVolume", {
    name: `pvc-${pvcUid}`,
    capacity_range: { required_bytes: String(bytes), limit_bytes: "0" },
    volume_capabilities: [cap],
    parameters: {
      "csi.storage.k8s.io/pvc/name": "data-db-0",
      "csi.storage.k8s.io/pvc/namespace": "prod",
      "csi.storage.k8s.io/pv/name": `pvc-${pvcUid}`,
    },
    secrets: { "provisioner-token": "s3cret-provisioner" },
    volume_content_source: source,
  });
  created.volumes.add(res.volume.volume_id);
  return res.volume;
}

/** csi-snapshotter's createSnapshotWrapper, retried the way its controller requeues. */
async function snapshotterCreate(
  name: string,
  sourceVolumeId: string,
): Promise<{ snapshot: Snapshot; calls: number }> {
  let calls = 0;
  for (;;) {
    calls++;
    try {
      await stack.csi.call("Identity", "GetPluginInfo", {});
      const res = await stack.csi.call<{ snapshot: Snapshot }>("Controller", "CreateSnapshot", {
        name,
        source_volume_id: sourceVolumeId,
        parameters: { "csi.storage.k8s.io/volumesnapshot/name": "nightly" },
        secrets: { "snapshotter-token": "s3cret-snapshotter" },
      });
      created.snapshots.add(res.snapshot.snapshot_id);
      if (res.snapshot.ready_to_use || calls > 20) return { snapshot: res.snapshot, calls };
    } catch (err) {
      if (!isGrpcError(err) || !NON_FINAL.has(err.code) || calls > 20) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // Debug level: every request is logged, so the secret check below has something to read.
  stack = await startLocalStack({ workDir: join(workDir, "stack"), logLevel: "debug" });
});

afterAll(async () => {
  for (const id of created.snapshots) {
    await stack?.csi.call("Controller", "DeleteSnapshot", { snapshot_id: id, secrets: {} }).catch(() => {});
  }
  for (const id of created.volumes) {
    await stack?.csi.call("Controller", "DeleteVolume", { volume_id: id, secrets: {} }).catch(() => {});
  }
  const problems = (await stack?.stop()) ?? [];
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

describe("csi-snapshotter call pattern", () => {
  it("passes the sidecar's start-up checks: plugin info, Probe ready, CREATE_DELETE_SNAPSHOT and LIST_SNAPSHOTS", async () => {
    const info = await stack.csi.call<{ name: string }>("Identity", "GetPluginInfo", {});
    expect(info.name).toBe("rds.csi.mikrotik.com");
    expect(await stack.csi.call("Identity", "Probe", {})).toEqual({ ready: { value: true } });
    const caps = await stack.csi.call<{ capabilities: Array<{ rpc: { type: string } }> }>(
      "Controller",
      "ControllerGetCapabilities",
      {},
    );
    const types = caps.capabilities.map((c) => c.rpc.type);
    expect(types).toContain("CREATE_DELETE_SNAPSHOT");
    expect(types).toContain("LIST_SNAPSHOTS");
    expect(types).not.toContain("GET_SNAPSHOT");
  });

  it("creates snapshot-<uid>, answers identically when re-issued, and ListSnapshots by id finds it", async () => {
    const vol = await provision();
    const name = `snapshot-${randomUUID()}`;
    const first = await snapshotterCreate(name, vol.volume_id);
    expect(first.snapshot.ready_to_use).toBe(true);
    expect(first.snapshot.source_volume_id).toBe(vol.volume_id);
    expect(BigInt(first.snapshot.size_bytes)).toBe(BigInt(vol.capacity_bytes));
    expect(Number(first.snapshot.creation_time.seconds)).toBeGreaterThan(1_700_000_000);
    // The sidecar re-issues the same request (requeue, resync); nothing may change.
    const again = await snapshotterCreate(name, vol.volume_id);
    expect(again.snapshot).toEqual(first.snapshot);
    // Pre-provisioned VolumeSnapshotContent: the sidecar asks by handle only.
    const listed = await stack.csi.call<{ entries: Array<{ snapshot: Snapshot }>; next_token: string }>(
      "Controller",
      "ListSnapshots",
      { snapshot_id: first.snapshot.snapshot_id, secrets: { "list-token": "s3cret-list" } },
    );
    expect(listed.entries.map((e) => e.snapshot)).toEqual([first.snapshot]);
  });

  it("gives a final error for a missing source and a retriable ABORTED for a concurrent duplicate", async () => {
    let missing: unknown;
    try {
      await snapshotterCreate(`snapshot-${randomUUID()}`, `pvc-${randomUUID()}`);
    } catch (err) {
      missing = err;
    }
    expect(isGrpcError(missing, status.NOT_FOUND)).toBe(true);
    expect(NON_FINAL.has((missing as { code: status }).code)).toBe(false);

    const vol = await provision();
    const name = `snapshot-${randomUUID()}`;
    const request = { name, source_volume_id: vol.volume_id, parameters: {}, secrets: {} };
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        stack.csi.call<{ snapshot: Snapshot }>("Controller", "CreateSnapshot", request),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(isGrpcError(f.reason, status.ABORTED)).toBe(true);
    // The retry after ABORTED lands on the same snapshot.
    const settled = await snapshotterCreate(name, vol.volume_id);
    for (const r of ok) expect(r.value.snapshot.snapshot_id).toBe(settled.snapshot.snapshot_id);
  });

  it("deletes with the deletion secrets, idempotently, and never touches the source volume", async () => {
    const vol = await provision();
    const { snapshot } = await snapshotterCreate(`snapshot-${randomUUID()}`, vol.volume_id);
    const del = { snapshot_id: snapshot.snapshot_id, secrets: { "delete-token": "s3cret-delete" } };
    await stack.csi.call("Controller", "DeleteSnapshot", del);
    await stack.csi.call("Controller", "DeleteSnapshot", del);
    created.snapshots.delete(snapshot.snapshot_id);
    const listed = await stack.csi.call<{ entries: unknown[] }>("Controller", "ListSnapshots", {
      snapshot_id: snapshot.snapshot_id,
    });
    expect(listed.entries).toEqual([]);
    const validate = await stack.csi.call<{ confirmed: unknown }>(
      "Controller",
      "ValidateVolumeCapabilities",
      {
        volume_id: vol.volume_id,
        volume_capabilities: [cap],
      },
    );
    expect(validate.confirmed).not.toBeNull();
  });
});

describe("external-provisioner restore call", () => {
  it("restores at the snapshot's restoreSize and larger, echoing content_source; smaller is OUT_OF_RANGE", async () => {
    const vol = await provision(randomUUID(), 96n * MiB);
    const { snapshot } = await snapshotterCreate(`snapshot-${randomUUID()}`, vol.volume_id);
    const source = { snapshot: { snapshot_id: snapshot.snapshot_id } };
    const same = await provision(randomUUID(), BigInt(snapshot.size_bytes), source);
    expect(same.content_source).toEqual({
      snapshot: { snapshot_id: snapshot.snapshot_id },
      type: "snapshot",
    });
    expect(BigInt(same.capacity_bytes)).toBe(BigInt(snapshot.size_bytes));
    const larger = await provision(randomUUID(), 2n * BigInt(snapshot.size_bytes), source);
    expect(BigInt(larger.capacity_bytes)).toBe(2n * BigInt(snapshot.size_bytes));
    expect(larger.content_source).not.toBeNull();
    let small: unknown;
    try {
      await provision(randomUUID(), BigInt(snapshot.size_bytes) / 2n, source);
    } catch (err) {
      small = err;
    }
    expect(isGrpcError(small, status.OUT_OF_RANGE)).toBe(true);
  });

  it("re-issued CreateVolume (provisioner retry) returns the same volume; same name with another source is ALREADY_EXISTS", async () => {
    const vol = await provision();
    const { snapshot } = await snapshotterCreate(`snapshot-${randomUUID()}`, vol.volume_id);
    const uid = randomUUID();
    const a = await provision(uid, BigInt(snapshot.size_bytes), {
      snapshot: { snapshot_id: snapshot.snapshot_id },
    });
    const b = await provision(uid, BigInt(snapshot.size_bytes), {
      snapshot: { snapshot_id: snapshot.snapshot_id },
    });
    expect(b).toEqual(a);
    let conflict: unknown;
    try {
      await provision(uid, BigInt(snapshot.size_bytes), { volume: { volume_id: vol.volume_id } });
    } catch (err) {
      conflict = err;
    }
    expect(isGrpcError(conflict, status.ALREADY_EXISTS)).toBe(true);
  });

  it("never logs the secrets the sidecars pass", async () => {
    const out = stack.driver.output.join("\n");
    // Requests carrying secrets were logged (redacted), so the absence below is meaningful.
    const requests = stack.driver.output.filter(
      (l) =>
        l.includes('"msg":"request"') && /"method":"(CreateVolume|CreateSnapshot|DeleteSnapshot)"/.test(l),
    );
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.every((l) => l.includes("[REDACTED]"))).toBe(true);
    for (const secret of ["s3cret-provisioner", "s3cret-snapshotter", "s3cret-list", "s3cret-delete"]) {
      expect(out).not.toContain(secret);
    }
  });
});
