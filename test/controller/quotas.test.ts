import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { snapshotIdFor } from "../../src/storage/ids.js";
import { createSnapshotRequest, createVolumeRequest, Harness, useHarness } from "./harness.js";

// Quotas set as class parameters, against the emulator: over a limit is RESOURCE_EXHAUSTED with
// a message naming the parameter and the current figure; a retry of what exists still succeeds.

const MiB = 1024n * 1024n;
const h = useHarness();

async function volume(name: string, parameters: Record<string, string> = {}): Promise<string> {
  return (await h.call("CreateVolume", createVolumeRequest(name, { required: 4n * MiB, parameters }))).volume
    .volume_id;
}

function snapshotRequest(name: string, volumeId: string, parameters: Record<string, string>) {
  return { ...createSnapshotRequest(name, volumeId), parameters };
}

async function snapshotCount(): Promise<number> {
  return (await h.client.listSubvolumes({ fullnamePrefix: "rds-csi/snaps/", fs: h.sim.fsLabel })).length;
}

describe("snapshot quotas (VolumeSnapshotClass parameters)", () => {
  it("maxSnapshotsPerVolume caps one volume's snapshots; a retry at the cap is still OK", async () => {
    const vol = await volume("quota-per-volume");
    const other = await volume("quota-per-volume-other");
    const limit = { maxSnapshotsPerVolume: "2" };
    await h.call("CreateSnapshot", snapshotRequest("qpv-1", vol, limit));
    const second = await h.call("CreateSnapshot", snapshotRequest("qpv-2", vol, limit));
    const message = await h.expectCode(
      "CreateSnapshot",
      snapshotRequest("qpv-3", vol, limit),
      status.RESOURCE_EXHAUSTED,
    );
    expect(message).toContain(`volume ${vol} already has 2 snapshots`);
    expect(message).toContain("VolumeSnapshotClass parameter maxSnapshotsPerVolume=2");
    expect(await h.call("CreateSnapshot", snapshotRequest("qpv-2", vol, limit))).toEqual(second);
    // Another volume has its own count; the class without the parameter has no cap.
    await h.call("CreateSnapshot", snapshotRequest("qpv-other", other, limit));
    await h.call("CreateSnapshot", snapshotRequest("qpv-3", vol, {}));
  });

  it("the smaller of --max-snapshots-per-volume and the class parameter applies, and is named", async () => {
    const limited = new Harness(h.sim, { maxSnapshotsPerVolume: 1 });
    try {
      const vol = await volume("quota-flag");
      await limited.call("CreateSnapshot", snapshotRequest("qf-1", vol, { maxSnapshotsPerVolume: "5" }));
      const message = await limited.expectCode(
        "CreateSnapshot",
        snapshotRequest("qf-2", vol, { maxSnapshotsPerVolume: "5" }),
        status.RESOURCE_EXHAUSTED,
      );
      expect(message).toContain("already has 1 snapshots, the limit set by --max-snapshots-per-volume=1");
    } finally {
      limited.close();
    }
  });

  it("maxSnapshots caps the snapshots of all volumes, counted by RouterOS", async () => {
    const a = await volume("quota-total-a");
    const b = await volume("quota-total-b");
    const before = await snapshotCount();
    const limit = { maxSnapshots: String(before + 2) };
    await h.call("CreateSnapshot", snapshotRequest("qt-1", a, limit));
    const last = await h.call("CreateSnapshot", snapshotRequest("qt-2", b, limit));
    const message = await h.expectCode(
      "CreateSnapshot",
      snapshotRequest("qt-3", a, limit),
      status.RESOURCE_EXHAUSTED,
    );
    expect(message).toContain(`holds ${before + 2} snapshots`);
    expect(message).toContain(`VolumeSnapshotClass parameter maxSnapshots=${before + 2}`);
    expect(await h.call("CreateSnapshot", snapshotRequest("qt-2", b, limit))).toEqual(last);
    expect(
      await h.client.getSubvolume(`rds-csi/snaps/${a}/${snapshotIdFor("qt-3")}`, { fs: h.sim.fsLabel }),
    ).toBe(null);
    // The count is one `:len [find …]`, not a listing of every snapshot.
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    await h.call("CreateSnapshot", snapshotRequest("qt-4", a, { maxSnapshots: "100000" }));
    const lines = (await h.sim.control.commands(since)).map((c) => c.line).join("\n");
    expect(lines).toContain(":len [/disk/btrfs/subvolume find where");
  });

  it("maxPoolUsedPercent refuses snapshots and volumes once the pool is that full; GetCapacity reports the room left", async () => {
    const vol = await volume("quota-pool");
    await h.call("CreateSnapshot", snapshotRequest("qp-1", vol, { maxPoolUsedPercent: "100" }));
    const pool = await h.client.poolCapacity(h.sim.pool);
    const capacity = await h.call("GetCapacity", {
      volume_capabilities: [],
      parameters: { maxPoolUsedPercent: "100" },
      accessible_topology: null,
    });
    expect(BigInt(capacity.available_capacity)).toBeLessThanOrEqual(pool.free);
    await h.sim.control.poolFull(true);
    try {
      const snap = await h.expectCode(
        "CreateSnapshot",
        snapshotRequest("qp-2", vol, { maxPoolUsedPercent: "95" }),
        status.RESOURCE_EXHAUSTED,
      );
      expect(snap).toMatch(/pool \S+ is 100% used \(\d+ of \d+ bytes\)/);
      expect(snap).toContain("VolumeSnapshotClass parameter maxPoolUsedPercent=95");
      const made = await h.expectCode(
        "CreateVolume",
        createVolumeRequest("quota-pool-new", {
          required: 4n * MiB,
          parameters: { maxPoolUsedPercent: "95" },
        }),
        status.RESOURCE_EXHAUSTED,
      );
      expect(made).toContain("StorageClass parameter maxPoolUsedPercent=95");
      // What exists is still answered at the cap.
      await h.call("CreateSnapshot", snapshotRequest("qp-1", vol, { maxPoolUsedPercent: "95" }));
      await h.call(
        "CreateVolume",
        createVolumeRequest("quota-pool", { required: 4n * MiB, parameters: { maxPoolUsedPercent: "95" } }),
      );
      const full = await h.call("GetCapacity", {
        volume_capabilities: [],
        parameters: { maxPoolUsedPercent: "95" },
        accessible_topology: null,
      });
      expect(full.available_capacity).toBe("0");
    } finally {
      await h.sim.control.poolFull(false);
    }
  });

  it("a bad value, a quota in the wrong class and unknown keys are INVALID_ARGUMENT", async () => {
    const vol = await volume("quota-bad");
    const bad: Record<string, string>[] = [
      { maxSnapshots: "0" },
      { maxSnapshots: "ten" },
      { maxPoolUsedPercent: "101" },
      { maxSnapshotsPerVolume: "-1" },
      { maxSnapshotz: "3" },
    ];
    for (const parameters of bad) {
      await h.expectCode("CreateSnapshot", snapshotRequest("qb-1", vol, parameters), status.INVALID_ARGUMENT);
    }
    const wrongClass = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("quota-bad-2", { required: 4n * MiB, parameters: { maxSnapshots: "3" } }),
      status.INVALID_ARGUMENT,
    );
    expect(wrongClass).toContain("belongs in a VolumeSnapshotClass");
  });
});
