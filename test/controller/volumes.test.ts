import { access } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { KeyedLocks } from "../../src/csi/locks.js";
import type { VolumeCapability } from "../../src/csi/types.js";
import type { RdsClient } from "../../src/rds/index.js";
import { volumeIdFor } from "../../src/storage/ids.js";
import type { StorageRds } from "../../src/storage/index.js";
import {
  blockCapability,
  createVolumeRequest,
  Harness,
  mountCapability,
  NQN_PREFIX,
  ROOT,
  rdsState,
  useHarness,
} from "./harness.js";

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;

const h = useHarness();

function expandRequest(volumeId: string, required: bigint, limit = 0n, block = false) {
  return {
    volume_id: volumeId,
    capacity_range: { required_bytes: String(required), limit_bytes: String(limit) },
    secrets: {},
    volume_capability: block ? blockCapability() : mountCapability(),
  };
}

function validateRequest(
  volumeId: string,
  caps = [mountCapability()],
  parameters: Record<string, string> = {},
) {
  return {
    volume_id: volumeId,
    volume_context: {},
    volume_capabilities: caps,
    parameters,
    secrets: {},
    mutable_parameters: {},
  };
}

describe("CreateVolume", () => {
  it("creates a file-backed disk in its own subvolume, exported over NVMe/TCP", async () => {
    const res = await h.call("CreateVolume", createVolumeRequest("pvc-basic", { required: 10n * MiB }));
    const id = volumeIdFor("pvc-basic");
    expect(res.volume).toEqual({
      volume_id: id,
      capacity_bytes: String(10n * MiB),
      volume_context: {
        transport: "nvme-tcp",
        nvmeAddress: "192.0.2.10",
        nvmePort: "4420",
        nqn: `${NQN_PREFIX}:${id}`,
      },
      content_source: null,
    });
    const disk = await h.client.getDisk(id);
    expect(disk).toMatchObject({
      filePath: `/${h.sim.pool}/${ROOT}/vols/${id}/disk.img`,
      fileSize: 10n * MiB,
      // Exported to no host until ControllerPublishVolume; port and NQN print once exported.
      nvmeExport: false,
      allowHostName: "",
      comment: expect.stringMatching(/^rds-csi v1 attempt=[0-9a-f]{16}$/),
    });
    expect(await h.client.getSubvolume(`${ROOT}/vols/${id}`, { fs: h.sim.fsLabel })).not.toBeNull();
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${id}`)).toMatchObject({ type: "directory" });
  });

  it("sizes: default 1 GiB, rounded up to whole MiB, exact at the limit, OUT_OF_RANGE above it", async () => {
    const byDefault = await h.call("CreateVolume", createVolumeRequest("pvc-default", { noRange: true }));
    expect(byDefault.volume.capacity_bytes).toBe(String(GiB));
    const rounded = await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-round", { required: 5n * MiB + 1n }),
    );
    expect(rounded.volume.capacity_bytes).toBe(String(6n * MiB));
    const exact = await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-exact", { required: 8n * MiB, limit: 8n * MiB }),
    );
    expect(exact.volume.capacity_bytes).toBe(String(8n * MiB));
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pvc-too-tight", { required: 8n * MiB + 1n, limit: 8n * MiB + 100n }),
      status.OUT_OF_RANGE,
    );
    expect(message).toContain(String(8n * MiB + 100n));
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pvc-inverted", { required: 9n * MiB, limit: 8n * MiB }),
      status.OUT_OF_RANGE,
    );
    expect(await h.client.getDisk(volumeIdFor("pvc-too-tight"))).toBeNull();
  });

  it("gives xfs volumes the 300 MiB mkfs.xfs needs, and OUT_OF_RANGE when the limit forbids it", async () => {
    const xfs: VolumeCapability = {
      access_mode: { mode: "SINGLE_NODE_WRITER" },
      access_type: "mount",
      mount: { fs_type: "xfs", mount_flags: [], volume_mount_group: "" },
    };
    const small = await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-xfs-small", { required: 64n * MiB, capabilities: [xfs] }),
    );
    expect(small.volume.capacity_bytes).toBe(String(300n * MiB));
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pvc-xfs-tight", { required: 64n * MiB, limit: 128n * MiB, capabilities: [xfs] }),
      status.OUT_OF_RANGE,
    );
    expect(message).toContain("xfs");
    // ext4 keeps the requested size.
    const ext4 = await h.call("CreateVolume", createVolumeRequest("pvc-ext4-small", { required: 64n * MiB }));
    expect(ext4.volume.capacity_bytes).toBe(String(64n * MiB));
  });

  it("is idempotent by name, also across a controller restart; another size is ALREADY_EXISTS", async () => {
    const req = createVolumeRequest("pvc-twice", { required: 16n * MiB, limit: 16n * MiB });
    const first = await h.call("CreateVolume", req);
    const again = await h.call("CreateVolume", req);
    h.restart();
    const afterRestart = await h.call("CreateVolume", req);
    expect(again).toEqual(first);
    expect(afterRestart).toEqual(first);
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pvc-twice", { required: 32n * MiB, limit: 32n * MiB }),
      status.ALREADY_EXISTS,
    );
    // A request the existing volume satisfies is the same volume.
    const looser = await h.call("CreateVolume", createVolumeRequest("pvc-twice", { required: 10n * MiB }));
    expect(looser.volume.volume_id).toBe(first.volume.volume_id);
  });

  it("takes 128-byte names of any case and Unicode, and refuses bad requests before any lookup", async () => {
    const long = `Max-Len-${"ü".repeat(30)}${"A".repeat(128 - 8 - 60)}`;
    expect(Buffer.byteLength(long)).toBe(128);
    const res = await h.call("CreateVolume", createVolumeRequest(long, { required: MiB }));
    expect(res.volume.volume_id).toBe(volumeIdFor(long));
    const before = (await h.sim.control.commands()).length;
    await h.expectCode("CreateVolume", createVolumeRequest(`${long}x`), status.INVALID_ARGUMENT);
    await h.expectCode("CreateVolume", createVolumeRequest(""), status.INVALID_ARGUMENT);
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("no-caps", { capabilities: [] }),
      status.INVALID_ARGUMENT,
    );
    expect((await h.sim.control.commands()).length).toBe(before);
  });

  it("accepts single-node access modes for mount and block, refuses multi-node ones", async () => {
    const modes = [
      "SINGLE_NODE_WRITER",
      "SINGLE_NODE_READER_ONLY",
      "SINGLE_NODE_SINGLE_WRITER",
      "SINGLE_NODE_MULTI_WRITER",
    ] as const;
    await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-modes", {
        required: MiB,
        capabilities: [...modes.map((m) => mountCapability(m)), ...modes.map((m) => blockCapability(m))],
      }),
    );
    for (const mode of [
      "MULTI_NODE_READER_ONLY",
      "MULTI_NODE_SINGLE_WRITER",
      "MULTI_NODE_MULTI_WRITER",
    ] as const) {
      const message = await h.expectCode(
        "CreateVolume",
        createVolumeRequest("pvc-multi", { capabilities: [mountCapability(mode)] }),
        status.INVALID_ARGUMENT,
      );
      expect(message).toContain(mode);
    }
    expect(await h.client.getDisk(volumeIdFor("pvc-multi"))).toBeNull();
  });

  it("validates StorageClass parameters: sidecar keys pass, unknown keys are named", async () => {
    await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-params", {
        required: MiB,
        parameters: { "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "default" },
      }),
    );
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("pvc-badparam", { parameters: { fsTpye: "ext4" } }),
      status.INVALID_ARGUMENT,
    );
    expect(message).toContain("fsTpye");
  });

  it("gives the loop transport the image's path on the host", async () => {
    const loop = new Harness(h.sim, { transport: "loop" });
    try {
      const res = await loop.call("CreateVolume", createVolumeRequest("pvc-loop", { required: 4n * MiB }));
      const id = volumeIdFor("pvc-loop");
      const backingFile = `${h.sim.poolMountPath}/${ROOT}/vols/${id}/disk.img`;
      expect(res.volume.volume_context).toMatchObject({
        transport: "loop",
        backingFile,
        nqn: `${NQN_PREFIX}:${id}`,
      });
      await access(backingFile);
    } finally {
      loop.close();
    }
  });
});

describe("DeleteVolume", () => {
  it("marks the id deleted, removes the disk item, then the subvolume; is idempotent; ignores ids that are not ours", async () => {
    const { volume } = await h.call("CreateVolume", createVolumeRequest("pvc-delete", { required: MiB }));
    const id = volume.volume_id;
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    await h.call("DeleteVolume", { volume_id: id, secrets: {} });
    const changes = (await h.sim.control.commands(since))
      .filter((c) => / (remove|set|add) /.test(c.line))
      .map((c) => c.line);
    // The mark for the sweep of late commands travels with the first read (the directory for the
    // marks may be made first), before anything is removed.
    const removals = changes.filter((line) => !line.startsWith("/file add "));
    const marked = changes.findIndex((line) => line.includes(`/deleted/${id}.`));
    expect(marked).toBeGreaterThanOrEqual(0);
    expect(marked).toBeLessThan(changes.indexOf(removals[0] as string));
    expect(removals[0]).toMatch(/^\/disk remove /);
    expect(removals[1]).toMatch(/^\/disk\/btrfs\/subvolume remove /);
    expect(await h.client.getDisk(id)).toBeNull();
    expect(await h.client.getSubvolume(`${ROOT}/vols/${id}`, { fs: h.sim.fsLabel })).toBeNull();
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/vols/${id}/disk.img`)).toBeNull();
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${id}`)).toBeNull();
    h.restart();
    await h.call("DeleteVolume", { volume_id: id, secrets: {} });
    const before = (await h.sim.control.commands()).length;
    await h.call("DeleteVolume", { volume_id: "fake-vol-id", secrets: {} });
    expect((await h.sim.control.commands()).length).toBe(before);
    await h.expectCode("DeleteVolume", { volume_id: "", secrets: {} }, status.INVALID_ARGUMENT);
  });

  it("finishes where RouterOS will not remove directories, and never empties one that holds snapshots", async () => {
    const deleteVolume = async (id: string) => {
      // A CO retries until OK; a RouterOS that refuses may cost one retry, never a stuck delete.
      let outcome = await h.outcome("DeleteVolume", { volume_id: id, secrets: {} });
      if (outcome.code !== status.OK)
        outcome = await h.outcome("DeleteVolume", { volume_id: id, secrets: {} });
      expect(outcome.message).toBe("");
    };
    await h.sim.control.setSettings({ file_remove_directory: "never" });
    try {
      const { volume } = await h.call("CreateVolume", createVolumeRequest("pvc-nodirs", { required: MiB }));
      await deleteVolume(volume.volume_id);
      expect(await h.client.getDisk(volume.volume_id)).toBeNull();
      expect(
        await h.client.getSubvolume(`${ROOT}/vols/${volume.volume_id}`, { fs: h.sim.fsLabel }),
      ).toBeNull();
      await h.sim.control.setSettings({ file_remove_directory: "recursive" });
      const kept = await h.call("CreateVolume", createVolumeRequest("pvc-recursive", { required: MiB }));
      const id = kept.volume.volume_id;
      const snap = await h.call("CreateSnapshot", {
        name: "recursive-snap",
        source_volume_id: id,
        secrets: {},
        parameters: {},
      });
      await deleteVolume(id);
      const snapshotPath = `${ROOT}/snaps/${id}/${snap.snapshot.snapshot_id}`;
      expect(await h.client.getSubvolume(snapshotPath, { fs: h.sim.fsLabel })).not.toBeNull();
    } finally {
      await h.sim.control.setSettings({ file_remove_directory: "if-empty" });
    }
  });

  it("never touches a disk item that uses another file", async () => {
    const id = volumeIdFor("not-ours");
    await h.sim.control.exec(`/file add name="${h.sim.pool}/foreign.img" type=file`);
    const added = await h.sim.control.exec(
      `/disk add type=file slot=${id} file-path=/${h.sim.pool}/foreign.img file-size=1M`,
    );
    expect(added.error).toBeNull();
    const { code } = await h.outcome("DeleteVolume", { volume_id: id, secrets: {} });
    expect(code).toBe(status.INTERNAL);
    expect(await h.client.getDisk(id)).not.toBeNull();
    await h.sim.control.exec(`/disk remove ${id}`);
  });
});

describe("per-id locks", () => {
  it("answers ABORTED at once for a busy volume while other volumes proceed", async () => {
    const locks = new KeyedLocks();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const busyId = volumeIdFor("pvc-held");
    // The real client, held before one call so the first operation stays in progress.
    const holdFor = (client: RdsClient): StorageRds =>
      new Proxy(client, {
        get(target, prop) {
          const value = Reflect.get(target, prop);
          if (typeof value !== "function") return value;
          if (prop !== "addFileDisk") return value.bind(target);
          return async (req: { slot: string }, call: unknown) => {
            if (req.slot === busyId) await gate;
            return value.call(target, req, call);
          };
        },
      });
    const lockedService = new Harness(h.sim, { locks, wrapClient: holdFor });
    try {
      let firstDone = false;
      const first = lockedService
        .call("CreateVolume", createVolumeRequest("pvc-held", { required: MiB }))
        .then((r) => {
          firstDone = true;
          return r;
        });
      while (!locks.isBusy(busyId)) await new Promise((r) => setTimeout(r, 10));
      await lockedService.expectCode("DeleteVolume", { volume_id: busyId, secrets: {} }, status.ABORTED);
      await lockedService.expectCode(
        "CreateVolume",
        createVolumeRequest("pvc-held", { required: MiB }),
        status.ABORTED,
      );
      const other = await lockedService.call(
        "CreateVolume",
        createVolumeRequest("pvc-free", { required: MiB }),
      );
      expect(other.volume.volume_id).toBe(volumeIdFor("pvc-free"));
      expect(firstDone).toBe(false);
      release();
      expect((await first).volume.volume_id).toBe(busyId);
      expect(locks.size).toBe(0);
    } finally {
      release();
      lockedService.close();
    }
  });
});

describe("ControllerExpandVolume", () => {
  it("grows to the exact size, only grows, and says when the node must grow the filesystem", async () => {
    const { volume } = await h.call(
      "CreateVolume",
      createVolumeRequest("pvc-expand", { required: 8n * MiB }),
    );
    const id = volume.volume_id;
    const grown = await h.call("ControllerExpandVolume", expandRequest(id, 24n * MiB));
    expect(grown).toEqual({ capacity_bytes: String(24n * MiB), node_expansion_required: true });
    expect((await h.client.getDisk(id))?.fileSize).toBe(24n * MiB);
    const block = await h.call("ControllerExpandVolume", expandRequest(id, 32n * MiB, 0n, true));
    expect(block).toEqual({ capacity_bytes: String(32n * MiB), node_expansion_required: false });
    const smaller = await h.call("ControllerExpandVolume", expandRequest(id, 16n * MiB));
    expect(smaller.capacity_bytes).toBe(String(32n * MiB));
    await h.expectCode(
      "ControllerExpandVolume",
      expandRequest(id, 16n * MiB, 16n * MiB),
      status.OUT_OF_RANGE,
    );
    h.restart();
    const recreated = await h.call("CreateVolume", createVolumeRequest("pvc-expand", { required: 8n * MiB }));
    expect(recreated.volume.capacity_bytes).toBe(String(32n * MiB));
  });

  it("checks its arguments and the volume's existence", async () => {
    await h.expectCode("ControllerExpandVolume", expandRequest("", GiB), status.INVALID_ARGUMENT);
    await h.expectCode(
      "ControllerExpandVolume",
      { ...expandRequest(volumeIdFor("x"), GiB), capacity_range: null },
      status.INVALID_ARGUMENT,
    );
    await h.expectCode(
      "ControllerExpandVolume",
      expandRequest(volumeIdFor("missing"), GiB),
      status.NOT_FOUND,
    );
    await h.expectCode("ControllerExpandVolume", expandRequest("fake-vol-id", GiB), status.NOT_FOUND);
  });
});

describe("ValidateVolumeCapabilities", () => {
  it("confirms single-node capabilities, not multi-node ones, and knows missing volumes", async () => {
    const { volume } = await h.call("CreateVolume", createVolumeRequest("pvc-validate", { required: MiB }));
    const ok = await h.call(
      "ValidateVolumeCapabilities",
      validateRequest(volume.volume_id, [mountCapability(), blockCapability()]),
    );
    expect(ok.confirmed.volume_capabilities).toHaveLength(2);
    const multi = await h.call(
      "ValidateVolumeCapabilities",
      validateRequest(volume.volume_id, [mountCapability("MULTI_NODE_MULTI_WRITER")]),
    );
    expect(multi.confirmed).toBeNull();
    expect(multi.message).toContain("MULTI_NODE_MULTI_WRITER");
    const badParam = await h.call(
      "ValidateVolumeCapabilities",
      validateRequest(volume.volume_id, [mountCapability()], { bogus: "1" }),
    );
    expect(badParam.confirmed).toBeNull();
    await h.expectCode(
      "ValidateVolumeCapabilities",
      validateRequest(volume.volume_id, []),
      status.INVALID_ARGUMENT,
    );
    await h.expectCode("ValidateVolumeCapabilities", validateRequest(""), status.INVALID_ARGUMENT);
    await h.expectCode("ValidateVolumeCapabilities", validateRequest(volumeIdFor("nope")), status.NOT_FOUND);
  });
});

describe("capabilities and capacity", () => {
  it("advertises what is implemented and not the alpha GET_SNAPSHOT", async () => {
    const res = await h.call("ControllerGetCapabilities", {});
    expect(res.capabilities.map((c: { rpc: { type: string } }) => c.rpc.type).sort()).toEqual([
      "CLONE_VOLUME",
      "CREATE_DELETE_SNAPSHOT",
      "CREATE_DELETE_VOLUME",
      "EXPAND_VOLUME",
      "GET_CAPACITY",
      "LIST_SNAPSHOTS",
      "PUBLISH_READONLY",
      "PUBLISH_UNPUBLISH_VOLUME",
    ]);
    for (const method of [
      "ListVolumes",
      "GetSnapshot",
      "ControllerGetVolume",
      "ControllerModifyVolume",
    ] as const) {
      const { code } = await h.outcome(method, {} as never);
      expect(code, method).toBe(status.UNIMPLEMENTED);
    }
  });

  it("reports the pool's free space, and 0 for capabilities it cannot serve", async () => {
    const res = await h.call("GetCapacity", {
      volume_capabilities: [],
      parameters: {},
      accessible_topology: null,
    });
    const free = BigInt(res.available_capacity);
    expect(free > 0n && free < 2n * GiB).toBe(true);
    await h.sim.control.poolFull(true);
    try {
      const full = await h.call("GetCapacity", {
        volume_capabilities: [],
        parameters: {},
        accessible_topology: null,
      });
      expect(full.available_capacity).toBe("0");
    } finally {
      await h.sim.control.poolFull(false);
    }
    const multi = await h.call("GetCapacity", {
      volume_capabilities: [mountCapability("MULTI_NODE_MULTI_WRITER")],
      parameters: {},
      accessible_topology: null,
    });
    expect(multi.available_capacity).toBe("0");
  });

  it("answers RESOURCE_EXHAUSTED when the pool is full and leaves nothing behind", async () => {
    const before = await rdsState(h);
    await h.sim.control.poolFull(true);
    try {
      await h.expectCode(
        "CreateVolume",
        createVolumeRequest("pvc-full", { required: MiB }),
        status.RESOURCE_EXHAUSTED,
      );
    } finally {
      await h.sim.control.poolFull(false);
    }
    expect(await rdsState(h)).toEqual(before);
  });
});
