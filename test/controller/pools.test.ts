/**
 * Pools per StorageClass, end to end against an emulator serving two pools, each its own Btrfs
 * filesystem on its own loop device: volumes, snapshots, restores, clones, listing and capacity in
 * the second pool; plain ids of the default pool still working; unknown pools refused.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControllerService } from "../../src/csi/controller-service.js";
import type { ServiceHandlers } from "../../src/csi/pipeline.js";
import { RdsClient, RdsConnection } from "../../src/rds/index.js";
import { createStorage, StoragePools, TombstoneSweep } from "../../src/storage/index.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { simConnectionOptions } from "../helpers/sim-connection.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  Harness,
  listSnapshotsRequest,
  NQN_PREFIX,
  ROOT,
  snapshotSource,
  volumeSource,
} from "./harness.js";

const FAST = "fast";
const MiB = 1024n * 1024n;

let sim: SimFixture;
let connection: RdsConnection;
let pools: StoragePools;
const h = new Harness(undefined);

function poolsFor(client: RdsClient): StoragePools {
  const storageOf = (pool: string) =>
    createStorage(client, {
      pool,
      fsLabel: pool,
      root: ROOT,
      nvmePort: 4420,
      nqnPrefix: NQN_PREFIX,
      logger: pino({ level: "silent" }),
    });
  return new StoragePools(storageOf(sim.pool), [storageOf(FAST)]);
}

function serviceFor(served: StoragePools): ServiceHandlers {
  return createControllerService({
    storage: served.default.storage,
    pools: served,
    settings: {
      maxSnapshotsPerVolume: 0,
      attachment: {
        transport: "loop",
        nvmeAddress: "192.0.2.10",
        nvmePort: 4420,
        loopPoolPath: sim.poolMountPath,
      },
    },
  });
}

beforeAll(async () => {
  sim = await startSim({ extraPools: [`${FAST}:1G`] });
  connection = new RdsConnection(simConnectionOptions(sim));
  const client = new RdsClient(connection);
  pools = poolsFor(client);
  h.attach(sim);
  // The harness's own service serves the default pool alone; these tests use one serving both.
  h.service = serviceFor(pools);
});

afterAll(async () => {
  h.close();
  connection?.close();
  await sim?.stop();
});

const fastClass = { pool: FAST };
const fastMount = () => path.join(sim.dataDir, "pools", FAST, "mnt");

describe("a StorageClass with pool=fast", () => {
  it("creates, snapshots, restores, clones, expands and deletes in that pool, with ids that name it", async () => {
    const created = await h.call("CreateVolume", createVolumeRequest("pool-vol", { parameters: fastClass }));
    const volumeId: string = created.volume.volume_id;
    expect(volumeId).toMatch(/^fast:pvc-[0-9a-f-]{36}$/);
    const bare = volumeId.slice("fast:".length);
    // On the second filesystem, not the first; the node is told the file on the second mount.
    expect(existsSync(path.join(fastMount(), ROOT, "vols", bare, "disk.img"))).toBe(true);
    expect(existsSync(path.join(sim.poolMountPath, ROOT, "vols", bare))).toBe(false);
    expect(created.volume.volume_context.backingFile).toBe(
      path.join(fastMount(), ROOT, "vols", bare, "disk.img"),
    );
    expect(created.volume.volume_context.nqn).toBe(`${NQN_PREFIX}:${bare}`);

    // Idempotent: the same request gets the same volume; the same name in another pool is a conflict.
    const again = await h.call("CreateVolume", createVolumeRequest("pool-vol", { parameters: fastClass }));
    expect(again.volume.volume_id).toBe(volumeId);
    const elsewhere = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pool-vol"),
      status.ALREADY_EXISTS,
    );
    expect(elsewhere).toContain("pool fast");
    // Nothing made for it in the default pool (its look-up's line made a subvolume, removed again).
    expect(existsSync(path.join(sim.poolMountPath, ROOT, "vols", bare))).toBe(false);

    const snap = await h.call("CreateSnapshot", createSnapshotRequest("pool-snap", volumeId));
    // The same snapshot name of a volume in the other pool is a conflict, not a second snapshot.
    const other = await h.call("CreateVolume", createVolumeRequest("pool-other"));
    await h.expectCode(
      "CreateSnapshot",
      createSnapshotRequest("pool-snap", other.volume.volume_id),
      status.ALREADY_EXISTS,
    );
    await h.call("DeleteVolume", { volume_id: other.volume.volume_id, secrets: {} });
    const snapshotId: string = snap.snapshot.snapshot_id;
    expect(snapshotId).toMatch(/^fast:snap-/);
    expect(snap.snapshot.source_volume_id).toBe(volumeId);
    expect(snap.snapshot.ready_to_use).toBe(true);
    expect(existsSync(path.join(fastMount(), ROOT, "snaps", bare, snapshotId.slice(5), "disk.img"))).toBe(
      true,
    );

    // A restore and a clone stay in the source's pool, with or without the class naming it.
    const restored = await h.call(
      "CreateVolume",
      createVolumeRequest("pool-restore", { source: snapshotSource(snapshotId) }),
    );
    expect(restored.volume.volume_id).toMatch(/^fast:pvc-/);
    expect(restored.volume.content_source).toEqual({ snapshot: { snapshot_id: snapshotId } });
    const cloned = await h.call(
      "CreateVolume",
      createVolumeRequest("pool-clone", { source: volumeSource(volumeId), parameters: fastClass }),
    );
    expect(cloned.volume.volume_id).toMatch(/^fast:pvc-/);
    expect(cloned.volume.content_source).toEqual({ volume: { volume_id: volumeId } });

    const grown = await h.call("ControllerExpandVolume", {
      volume_id: volumeId,
      capacity_range: { required_bytes: String(2048n * MiB), limit_bytes: "0" },
      secrets: {},
      volume_capability: null,
    });
    expect(grown.capacity_bytes).toBe(String(2048n * MiB));

    const listed = await h.call("ListSnapshots", listSnapshotsRequest({ sourceVolumeId: volumeId }));
    expect(listed.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id)).toEqual([
      snapshotId,
    ]);
    const byId = await h.call("ListSnapshots", listSnapshotsRequest({ snapshotId }));
    expect(byId.entries).toHaveLength(1);

    for (const id of [restored.volume.volume_id, cloned.volume.volume_id, volumeId]) {
      await h.call("DeleteVolume", { volume_id: id, secrets: {} });
    }
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    expect(existsSync(path.join(fastMount(), ROOT, "vols", bare))).toBe(false);
    expect(existsSync(path.join(fastMount(), ROOT, "snaps", bare))).toBe(false);
    const gone = await h.call("ListSnapshots", listSnapshotsRequest({ snapshotId }));
    expect(gone.entries).toEqual([]);
  });

  it("reports each pool's own free space", async () => {
    const capacity = async (parameters: Record<string, string>) =>
      BigInt(
        (await h.call("GetCapacity", { volume_capabilities: [], parameters, accessible_topology: null }))
          .available_capacity,
      );
    const fast = await capacity(fastClass);
    const first = await capacity({});
    // The second pool is a 1 GiB filesystem, the first a 2 GiB one.
    expect(fast).toBeGreaterThan(0n);
    expect(fast).toBeLessThan(1024n * MiB);
    expect(first).toBeGreaterThan(1024n * MiB);
  });
});

describe("refusals", () => {
  it("refuses a pool the controller does not serve, and an empty one, naming it", async () => {
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("nowhere", { parameters: { pool: "archive" } }),
      status.INVALID_ARGUMENT,
    );
    expect(message).toContain('"archive"');
    expect(message).toContain("raid1, fast");
    await h.expectCode(
      "GetCapacity",
      { volume_capabilities: [], parameters: { pool: "archive" }, accessible_topology: null },
      status.INVALID_ARGUMENT,
    );
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("empty", { parameters: { pool: "" } }),
      status.INVALID_ARGUMENT,
    );
    // Still refused: any other parameter.
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("typo", { parameters: { pools: FAST } }),
      status.INVALID_ARGUMENT,
    );
  });

  it("keeps restores in the source's pool: a class naming another pool is INVALID_ARGUMENT", async () => {
    const source = await h.call("CreateVolume", createVolumeRequest("cross-source"));
    const snap = await h.call("CreateSnapshot", createSnapshotRequest("cross-snap", source.volume.volume_id));
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("cross-restore", {
        source: snapshotSource(snap.snapshot.snapshot_id),
        parameters: fastClass,
      }),
      status.INVALID_ARGUMENT,
    );
    expect(message).toContain("pool raid1");
    await h.call("DeleteSnapshot", { snapshot_id: snap.snapshot.snapshot_id, secrets: {} });
    await h.call("DeleteVolume", { volume_id: source.volume.volume_id, secrets: {} });
  });

  it("answers ids of a pool it does not serve FAILED_PRECONDITION, and lists nothing for them", async () => {
    const id = "archive:pvc-0e0f4c4d-3b7e-5a1c-8f00-0123456789ab";
    await h.expectCode("DeleteVolume", { volume_id: id, secrets: {} }, status.FAILED_PRECONDITION);
    await h.expectCode("CreateSnapshot", createSnapshotRequest("unserved", id), status.FAILED_PRECONDITION);
    const listed = await h.call("ListSnapshots", listSnapshotsRequest({ sourceVolumeId: id }));
    expect(listed.entries).toEqual([]);
  });
});

describe("ids without a pool", () => {
  it("still name the default pool; a listing covers both pools in id order, page by page", async () => {
    const plain = await h.call("CreateVolume", createVolumeRequest("plain-vol"));
    expect(plain.volume.volume_id).toMatch(/^pvc-/);
    expect(existsSync(path.join(sim.poolMountPath, ROOT, "vols", plain.volume.volume_id))).toBe(true);
    const fast = await h.call("CreateVolume", createVolumeRequest("fast-vol", { parameters: fastClass }));
    const snapshots: string[] = [];
    for (const [i, volume] of [plain, fast, plain, fast].entries()) {
      const made = await h.call(
        "CreateSnapshot",
        createSnapshotRequest(`mixed-${i}`, volume.volume.volume_id),
      );
      snapshots.push(made.snapshot.snapshot_id);
    }
    expect(snapshots.filter((s) => s.startsWith("fast:"))).toHaveLength(2);

    const all = await h.call("ListSnapshots", listSnapshotsRequest());
    const ids = all.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id);
    expect(ids).toEqual([...snapshots].sort());
    const paged: string[] = [];
    let token = "";
    do {
      const page = await h.call("ListSnapshots", listSnapshotsRequest({ maxEntries: 1, token }));
      paged.push(...page.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id));
      token = page.next_token;
    } while (token !== "");
    expect(paged).toEqual(ids);

    // The default pool spelled out names the same volume as its plain id.
    const spelled = await h.call("ValidateVolumeCapabilities", {
      volume_id: `raid1:${plain.volume.volume_id}`,
      volume_context: {},
      volume_capabilities: createVolumeRequest("x").volume_capabilities,
      parameters: {},
      mutable_parameters: {},
      secrets: {},
    });
    expect(spelled.confirmed).not.toBeNull();

    for (const id of snapshots) await h.call("DeleteSnapshot", { snapshot_id: id, secrets: {} });
    for (const v of [plain, fast])
      await h.call("DeleteVolume", { volume_id: v.volume.volume_id, secrets: {} });
    expect((await h.call("ListSnapshots", listSnapshotsRequest())).entries).toEqual([]);
  });

  it("each pool's delete marks are swept in that pool", async () => {
    const made = await h.call("CreateVolume", createVolumeRequest("marked", { parameters: fastClass }));
    await h.call("DeleteVolume", { volume_id: made.volume.volume_id, secrets: {} });
    const markDir = (mount: string) => path.join(mount, ROOT, "deleted");
    const { readdirSync } = await import("node:fs");
    const bare = made.volume.volume_id.slice("fast:".length);
    expect(readdirSync(markDir(fastMount())).some((f) => f.startsWith(bare))).toBe(true);
    const locks = { isBusy: () => false, withLock: <T>(_k: unknown, fn: () => Promise<T>) => fn() };
    const fast = pools.named(FAST);
    if (fast === undefined) throw new Error("no fast pool");
    const sweep = new TombstoneSweep({
      storage: fast.storage,
      locks,
      lockKeyOf: (id) => fast.csiId(id),
      windowMs: 0,
      logger: pino({ level: "silent" }),
    });
    const report = await sweep.pass();
    expect(report.marks).toBeGreaterThan(0);
    expect(readdirSync(markDir(fastMount())).some((f) => f.startsWith(bare))).toBe(false);
  });
});

describe("the emulator's second pool", () => {
  it("is a pool disk, a filesystem and a subvolume tree of its own, as RouterOS shows them", async () => {
    const disks = await sim.control.exec("/disk print terse where type=raid");
    expect(disks.output).toMatch(/slot="?raid1"?/);
    expect(disks.output).toMatch(/mount-point="?fast"?/);
    const filesystems = await sim.control.exec("/disk/btrfs/filesystem print terse");
    expect(filesystems.output).toMatch(/label="?raid1"?/);
    expect(filesystems.output).toMatch(/label="?fast"?/);
    // A subvolume is made in the filesystem fs= names; an unknown label is refused.
    expect((await sim.control.exec('/disk/btrfs/subvolume add fs=fast name="probe"')).error).toBeNull();
    expect(existsSync(path.join(fastMount(), "probe"))).toBe(true);
    expect(
      (await sim.control.exec('/disk/btrfs/subvolume add fs=nowhere name="probe"')).error,
    ).not.toBeNull();
    const listed = await sim.control.exec('/disk/btrfs/subvolume print terse where name="probe"');
    expect(listed.output).toMatch(/fs=fast/);
    expect(listed.output).toMatch(/path=\/fast\/probe/);
    expect(
      (await sim.control.exec('/disk/btrfs/subvolume remove [find where fs=fast and name="probe"]')).error,
    ).toBeNull();
    expect(existsSync(path.join(fastMount(), "probe"))).toBe(false);
  });
});
