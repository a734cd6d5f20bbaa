/** The rules alone, on listings written by hand in the shapes the RouterOS client returns. */
import { describe, expect, it } from "vitest";
import type { DiskInfo, FileInfo, SubvolumeInfo } from "../../src/rds/index.js";
import { classify } from "../../src/reconcile/classify.js";
import type { LiveObjects } from "../../src/reconcile/kubernetes.js";
import {
  buildInventory,
  Layout,
  type Listings,
  snapshotIdFor,
  volumeIdFor,
} from "../../src/storage/index.js";

const layout = new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" });
const V = volumeIdFor("v");
const W = volumeIdFor("w");
const S = snapshotIdFor("s");
const created = new Date("2025-01-01T00:00:00Z");

function subvolume(fullname: string, readOnly = false): SubvolumeInfo {
  return {
    id: `*${fullname.length}`,
    fs: "raid1",
    name: fullname.split("/").pop() ?? "",
    fullname,
    uuid: `uuid-${fullname}`,
    parent: null,
    readOnly,
    snapshot: readOnly,
    creationTime: created,
  };
}

function disk(slot: string, filePath = `/${layout.pool}/rds-csi/vols/${slot}/disk.img`): DiskInfo {
  return {
    id: "*1",
    slot,
    type: "file",
    filePath,
    fileSize: 1n,
    size: 1n,
    nvmeExport: true,
    nvmePort: 4420,
    nqn: null,
    allowHostName: "",
    disabled: false,
    comment: "rds-csi v1",
  };
}

function file(name: string, type = "directory"): FileInfo {
  return { id: null, name, type, size: null, lastModified: created };
}

/** A volume as the driver makes it: /disk item, subvolume, directory, image, snapshot directory. */
function volume(id: string): Partial<Listings> {
  return {
    disks: [disk(id)],
    volumeSubvolumes: [subvolume(`rds-csi/vols/${id}`)],
    volumeFiles: [file(`raid1/rds-csi/vols/${id}`), file(`raid1/rds-csi/vols/${id}/disk.img`, ".img file")],
    snapshotFiles: [file(`raid1/rds-csi/snaps/${id}`)],
  };
}

function listings(...parts: Array<Partial<Listings>>): Listings {
  const all = <T>(pick: (p: Partial<Listings>) => readonly T[] | undefined): T[] =>
    parts.flatMap((p) => [...(pick(p) ?? [])]);
  return {
    disks: all((p) => p.disks),
    volumeSubvolumes: all((p) => p.volumeSubvolumes),
    snapshotSubvolumes: all((p) => p.snapshotSubvolumes),
    volumeFiles: all((p) => p.volumeFiles),
    snapshotFiles: all((p) => p.snapshotFiles),
    namesFiles: all((p) => p.namesFiles),
  };
}

function live(volumes: string[] = [], snapshots: string[] = [], snapshotsKnown = true): LiveObjects {
  return {
    volumes: new Set(volumes),
    snapshots: new Set(snapshots),
    driverVolumes: volumes.length,
    driverSnapshots: snapshots.length,
    snapshotsKnown,
  };
}

function judge(l: Listings, liveObjects: LiveObjects): string[] {
  return classify(layout, buildInventory(layout, l), liveObjects).candidates.map((c) => `${c.type} ${c.id}`);
}

const snapshotOfV: Partial<Listings> = {
  snapshotSubvolumes: [subvolume(`rds-csi/snaps/${V}/${S}`, true)],
  snapshotFiles: [
    file(`raid1/rds-csi/snaps/${V}/${S}`),
    file(`raid1/rds-csi/snaps/${V}/${S}/disk.img`, ".img file"),
  ],
};

describe("classify", () => {
  it.each([
    ["a complete volume with a PV", [volume(V)], live([V]), []],
    ["a complete volume without a PV", [volume(V)], live([W]), [`orphaned-volume ${V}`]],
    [
      "a snapshot of a live volume, no VolumeSnapshotContent",
      [volume(V), snapshotOfV],
      live([V]),
      [`orphaned-snapshot ${S}`],
    ],
    ["a live snapshot whose volume is gone", [snapshotOfV], live([W], [S]), []],
    ["a snapshot while the snapshot API is unknown", [snapshotOfV], live([W], [], false), []],
    [
      "an orphaned snapshot whose volume is gone: its directory is not empty",
      [snapshotOfV],
      live([W], []),
      [`orphaned-snapshot ${S}`],
    ],
    [
      "a volume whose PV is live but whose /disk item is missing",
      [{ ...volume(V), disks: [] }],
      live([V]),
      [],
    ],
    [
      "a /disk item of another root",
      [{ disks: [disk(V, `/raid1/other/vols/${V}/disk.img`)] }],
      live([W]),
      [],
    ],
    [
      "a subvolume nested in a volume",
      [volume(V), { volumeSubvolumes: [subvolume(`rds-csi/vols/${V}/inner`)] }],
      live([W]),
      [],
    ],
    ["names that are not ids", [{ volumeSubvolumes: [subvolume("rds-csi/vols/pvc-1")] }], live([W]), []],
    [
      "an empty snapshot directory of a volume that is gone",
      [{ snapshotFiles: [file(`raid1/rds-csi/snaps/${W}`)] }],
      live([V]),
      [`empty-snapshot-directory ${W}`],
    ],
  ] as Array<[string, Array<Partial<Listings>>, LiveObjects, string[]]>)(
    "%s",
    (_, parts, liveObjects, expected) => {
      expect(judge(listings(...parts), liveObjects).sort()).toEqual(expected.sort());
    },
  );

  it("never takes a snapshot for a volume, whatever the cluster says", () => {
    for (const liveObjects of [live(), live([V]), live([], [S]), live([V], [S]), live([], [], false)]) {
      const types = judge(listings(snapshotOfV), liveObjects).map((c) => c.split(" ")[0]);
      expect(types.filter((t) => t !== "orphaned-snapshot")).toEqual([]);
    }
  });

  it("gives a replaced object another fingerprint", () => {
    const before = classify(layout, buildInventory(layout, listings(volume(V))), live()).candidates[0];
    const replaced = listings({
      ...volume(V),
      volumeSubvolumes: [{ ...subvolume(`rds-csi/vols/${V}`), uuid: "another" }],
    });
    const after = classify(layout, buildInventory(layout, replaced), live()).candidates[0];
    expect(after?.type).toBe(before?.type);
    expect(after?.fingerprint).not.toBe(before?.fingerprint);
  });

  it("names the VolumeSnapshot an orphaned snapshot was taken for, from the last names file written", () => {
    const withNames = listings(volume(V), snapshotOfV, {
      namesFiles: [
        file(`raid1/rds-csi/names/${S}_shop_nightly_snapcontent-a.1700000000000`, "file"),
        file(`raid1/rds-csi/names/${S}_shop_nightly.2_snapcontent-b.1700000000500`, "file"),
        file(`raid1/rds-csi/names/not-a-names-file`, "file"),
      ],
    });
    const [candidate] = classify(layout, buildInventory(layout, withNames), live([V])).candidates;
    expect(candidate?.type).toBe("orphaned-snapshot");
    expect(candidate?.madeFor).toBe("VolumeSnapshot shop/nightly.2 (content snapcontent-b)");
    const without = classify(layout, buildInventory(layout, listings(volume(V), snapshotOfV)), live([V]));
    expect(without.candidates[0]?.madeFor).toBeUndefined();
  });
});
