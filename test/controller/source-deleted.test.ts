import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { RdsClient } from "../../src/rds/index.js";
import type { StorageRds } from "../../src/storage/index.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  Harness,
  ROOT,
  snapshotSource,
  useHarness,
  volumeSource,
} from "./harness.js";

/*
 * A source deleted while a call that reads from it is under way: CreateSnapshot racing DeleteVolume
 * (they hold different locks), a restore racing DeleteSnapshot, a clone racing DeleteVolume. The
 * answer is NOT_FOUND, as for a source missing from the start, and nothing of the deleted source is
 * made again.
 */

const MiB = 1024n * 1024n;
const h = useHarness();

/**
 * The real client, with `beforeSnapshot` run just before the first Btrfs snapshot command goes out:
 * the source is checked, then deleted by the other call, then snapshotted.
 */
function deleteSourceBeforeSnapshot(beforeSnapshot: () => Promise<void>) {
  let done = false;
  return (client: RdsClient): StorageRds =>
    new Proxy(client, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop !== "apply" && prop !== "snapshotSubvolume") return value.bind(target);
        return async (...args: unknown[]) => {
          const line = String((args[0] as { command?: { line?: string } }).command?.line ?? "");
          const isSnapshot = prop === "snapshotSubvolume" || line.includes(" parent=");
          if (isSnapshot && !done) {
            done = true;
            await beforeSnapshot();
          }
          return value.apply(target, args);
        };
      },
    });
}

async function racing(other: () => Promise<void>): Promise<Harness> {
  return new Harness(h.sim, { wrapClient: deleteSourceBeforeSnapshot(other) });
}

describe("a source deleted while it is read from", () => {
  it("CreateSnapshot racing DeleteVolume is NOT_FOUND and leaves no snapshot directory", async () => {
    const volume = (await h.call("CreateVolume", createVolumeRequest("race-snap-src", { required: MiB })))
      .volume.volume_id as string;
    const raced = await racing(async () => {
      await h.call("DeleteVolume", { volume_id: volume, secrets: {} });
    });
    try {
      const message = await raced.expectCode(
        "CreateSnapshot",
        createSnapshotRequest("race-snap", volume),
        status.NOT_FOUND,
      );
      expect(message).toMatch(new RegExp(`volume ${volume} does not exist`));
    } finally {
      raced.close();
    }
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${volume}`)).toBeNull();
    expect(
      await h.client.listSubvolumes({ fullnamePrefix: `${ROOT}/snaps/${volume}/`, fs: h.sim.fsLabel }),
    ).toEqual([]);
  });

  it("a restore racing DeleteSnapshot is NOT_FOUND", async () => {
    const volume = (await h.call("CreateVolume", createVolumeRequest("race-restore-src", { required: MiB })))
      .volume.volume_id as string;
    const snapshot = (await h.call("CreateSnapshot", createSnapshotRequest("race-restore-snap", volume)))
      .snapshot.snapshot_id as string;
    const raced = await racing(async () => {
      await h.call("DeleteSnapshot", { snapshot_id: snapshot, secrets: {} });
    });
    try {
      const message = await raced.expectCode(
        "CreateVolume",
        createVolumeRequest("race-restored", { required: MiB, source: snapshotSource(snapshot) }),
        status.NOT_FOUND,
      );
      expect(message).toMatch(new RegExp(`snapshot ${snapshot} does not exist`));
    } finally {
      raced.close();
    }
    expect(await h.client.listDisks({ slotPrefix: "pvc-" })).not.toContainEqual(
      expect.objectContaining({ comment: expect.stringContaining(snapshot) }),
    );
  });

  it("a clone racing DeleteVolume is NOT_FOUND", async () => {
    const volume = (await h.call("CreateVolume", createVolumeRequest("race-clone-src", { required: MiB })))
      .volume.volume_id as string;
    const raced = await racing(async () => {
      await h.call("DeleteVolume", { volume_id: volume, secrets: {} });
    });
    try {
      const message = await raced.expectCode(
        "CreateVolume",
        createVolumeRequest("race-clone", { required: MiB, source: volumeSource(volume) }),
        status.NOT_FOUND,
      );
      expect(message).toMatch(new RegExp(`volume ${volume} does not exist`));
    } finally {
      raced.close();
    }
  });
});
