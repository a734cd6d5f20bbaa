import { describe, expect, it } from "vitest";
import {
  buildLineage,
  cachedLineage,
  type KubernetesNames,
  type Lineage,
  renderLineageHtml,
  renderLineageText,
} from "../../../src/lineage/index.js";
import type { DiskInfo, FileInfo, SubvolumeInfo } from "../../../src/rds/index.js";
import { Layout, type Listings, snapshotIdFor, volumeIdFor } from "../../../src/storage/index.js";
import { encodeVolumeComment, type VolumeMetadata } from "../../../src/storage/metadata.js";
import { namesFileName } from "../../../src/storage/snapshot-names.js";

const layout = new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" });
const MiB = 1024n * 1024n;
const at = (minute: number) => new Date(Date.UTC(2026, 11, 5, 12, minute, 0));

/** Listings as RouterOS would print them for the objects described. */
class Rds {
  readonly listings = {
    disks: [] as DiskInfo[],
    volumeSubvolumes: [] as SubvolumeInfo[],
    snapshotSubvolumes: [] as SubvolumeInfo[],
    volumeFiles: [] as FileInfo[],
    snapshotFiles: [] as FileInfo[],
  } satisfies Listings;

  volume(name: string, minute: number, size: bigint, meta: VolumeMetadata = { source: undefined }): string {
    const id = volumeIdFor(name);
    this.listings.disks.push({
      id: null,
      slot: id,
      type: "file",
      filePath: layout.volumeImage(id),
      fileSize: size,
      size,
      nvmeExport: false,
      nvmePort: 4420,
      nqn: null,
      allowHostName: "",
      disabled: false,
      comment: encodeVolumeComment(meta),
    });
    this.listings.volumeSubvolumes.push(subvolume(layout.volumeSubvolume(id), minute, false));
    this.listings.volumeFiles.push(file(layout.volumeImage(id).slice(1), size));
    return id;
  }

  snapshot(name: string, volumeId: string, minute: number, size: bigint): string {
    const id = snapshotIdFor(name);
    this.listings.snapshotSubvolumes.push(subvolume(layout.snapshotSubvolume(volumeId, id), minute, true));
    this.listings.snapshotFiles.push(file(layout.snapshotImage(volumeId, id).slice(1), size));
    return id;
  }
}

function subvolume(fullname: string, minute: number, readOnly: boolean): SubvolumeInfo {
  return {
    id: null,
    fs: "raid1",
    name: fullname.split("/").pop()!,
    fullname,
    uuid: null,
    parent: null,
    readOnly,
    snapshot: readOnly,
    creationTime: at(minute),
  };
}

function file(name: string, size: bigint): FileInfo {
  return { id: null, name, type: "file", size, lastModified: null };
}

const restoredFrom = (snapshotId: string): VolumeMetadata => ({ source: { kind: "snapshot", snapshotId } });
const clonedFrom = (volumeId: string): VolumeMetadata => ({ source: { kind: "volume", volumeId } });
const build = (rds: Rds, kubernetes?: KubernetesNames) =>
  buildLineage({
    layout,
    listings: rds.listings,
    generatedAt: at(59),
    ...(kubernetes ? { kubernetes } : {}),
  });
const node = (lineage: Lineage, id: string) => lineage.nodes.find((n) => n.id === id)!;

describe("building the lineage", () => {
  // db ─ s1 ─ r1 ─ s2 ─ r2 ; db ─ s3 ; db ─ clone ; other (alone)
  const rds = new Rds();
  const db = rds.volume("db", 0, 8n * MiB, {
    source: undefined,
    names: { pv: "pvc-1111", pvc: { namespace: "shop", name: "data-db-0" } },
  });
  const s1 = rds.snapshot("s1", db, 1, 8n * MiB);
  const r1 = rds.volume("r1", 2, 16n * MiB, restoredFrom(s1));
  const s2 = rds.snapshot("s2", r1, 3, 16n * MiB);
  const r2 = rds.volume("r2", 4, 16n * MiB, restoredFrom(s2));
  const s3 = rds.snapshot("s3", db, 5, 8n * MiB);
  const clone = rds.volume("clone", 6, 8n * MiB, clonedFrom(db));
  const other = rds.volume("other", 7, 1024n * MiB);
  const lineage = build(rds);

  it("orders every object depth first from its root, siblings oldest first", () => {
    expect(lineage.roots).toEqual([db, other]);
    expect(lineage.nodes.map((n) => n.id)).toEqual([db, s1, r1, s2, r2, s3, clone, other]);
    expect(lineage.edges).toEqual([
      { from: db, to: s1, kind: "snapshot" },
      { from: s1, to: r1, kind: "restore" },
      { from: r1, to: s2, kind: "snapshot" },
      { from: s2, to: r2, kind: "restore" },
      { from: db, to: s3, kind: "snapshot" },
      { from: db, to: clone, kind: "clone" },
    ]);
  });

  it("gives sizes exactly, creation times, sources and the names in the comment", () => {
    expect(node(lineage, db)).toMatchObject({
      kind: "volume",
      present: true,
      sizeBytes: String(8n * MiB),
      createdAt: at(0).toISOString(),
      source: null,
      kubernetes: { pv: "pvc-1111", pvc: { namespace: "shop", name: "data-db-0" } },
    });
    expect(node(lineage, r1)).toMatchObject({
      sizeBytes: String(16n * MiB),
      source: { kind: "snapshot", id: s1 },
    });
    expect(node(lineage, clone)).toMatchObject({ source: { kind: "volume", id: db } });
    expect(node(lineage, s2)).toMatchObject({
      kind: "snapshot",
      sourceVolumeId: r1,
      sizeBytes: String(16n * MiB),
      createdAt: at(3).toISOString(),
      readyToUse: true,
      kubernetes: null,
    });
    expect(lineage).toMatchObject({ schema: "rds-csi/lineage/v1", pool: "raid1", root: "rds-csi" });
    expect(lineage.kubernetes).toEqual({ consulted: false });
  });

  it("calls safe to delete exactly the objects nothing present was made from", () => {
    const safe = lineage.nodes.filter((n) => n.deletion?.safe).map((n) => n.id);
    expect(safe.sort()).toEqual([r2, s3, clone, other].sort());
    expect(node(lineage, db).deletion).toMatchObject({
      safe: false,
      dependants: [s1, s3, clone],
      sharesWith: [s1, s3, clone],
    });
    expect(node(lineage, s1).deletion).toMatchObject({ safe: false, dependants: [r1], sharesWith: [db, r1] });
    expect(node(lineage, r2).deletion).toMatchObject({
      safe: true,
      dependants: [],
      sharesWith: [s2],
      freesAtMostBytes: String(16n * MiB),
    });
    expect(node(lineage, other).deletion).toMatchObject({ safe: true, sharesWith: [] });
  });
});

describe("sources that are gone", () => {
  it("keeps the dependants of a deleted volume or snapshot under a placeholder", () => {
    const rds = new Rds();
    const gone = volumeIdFor("deleted-volume");
    const goneSnap = snapshotIdFor("deleted-snapshot");
    const orphanSnap = rds.snapshot("kept", gone, 1, 4n * MiB);
    const restored = rds.volume("restored", 2, 4n * MiB, restoredFrom(goneSnap));
    const restoredFromKept = rds.volume("restored-2", 3, 4n * MiB, restoredFrom(orphanSnap));
    const lineage = build(rds);
    expect(lineage.roots).toEqual([gone, goneSnap]);
    expect(node(lineage, gone)).toMatchObject({
      kind: "volume",
      present: false,
      deletion: null,
      sizeBytes: null,
    });
    expect(node(lineage, goneSnap)).toMatchObject({ kind: "snapshot", present: false, sourceVolumeId: null });
    expect(lineage.edges).toEqual([
      { from: gone, to: orphanSnap, kind: "snapshot" },
      { from: orphanSnap, to: restoredFromKept, kind: "restore" },
      { from: goneSnap, to: restored, kind: "restore" },
    ]);
    // A gone source shares nothing any more.
    expect(node(lineage, orphanSnap).deletion).toMatchObject({ safe: false, sharesWith: [restoredFromKept] });
    expect(node(lineage, restored).deletion).toMatchObject({ safe: true, sharesWith: [] });
    expect(renderLineageText(lineage)).toContain(`volume ${gone}  [gone]`);
  });

  it("shows each member of a cycle of sources once", () => {
    // a was cloned from b and b from a: only possible when a name is deleted and made again.
    const rds = new Rds();
    const a = volumeIdFor("a");
    const b = volumeIdFor("b");
    rds.volume("a", 1, MiB, clonedFrom(b));
    rds.volume("b", 2, MiB, clonedFrom(a));
    const lineage = build(rds);
    expect(lineage.nodes.map((n) => n.id)).toEqual([a, b]);
    expect(lineage.roots).toEqual([a]);
    expect(lineage.edges).toEqual([{ from: a, to: b, kind: "clone" }]);
  });

  it("leaves out what is not the driver's, and volumes without a /disk item", () => {
    const rds = new Rds();
    const kept = rds.volume("kept", 1, MiB);
    rds.listings.disks.push({ ...rds.listings.disks[0]!, slot: "data-disk", comment: "not ours" });
    rds.listings.volumeSubvolumes.push(subvolume(layout.volumeSubvolume(volumeIdFor("half-made")), 2, false));
    rds.listings.snapshotSubvolumes.push(subvolume(`${layout.snapshotsDir()}/stranger`, 3, true));
    expect(build(rds).nodes.map((n) => n.id)).toEqual([kept]);
  });
});

describe("Kubernetes names", () => {
  it("adds the names the API server gave, over those of the comment", () => {
    const rds = new Rds();
    const vol = rds.volume("v", 1, MiB, { source: undefined, names: { pv: "pvc-old" } });
    const snap = rds.snapshot("s", vol, 2, MiB);
    const lineage = build(rds, {
      volumes: new Map([[vol, { pv: "pvc-new", pvc: { namespace: "ns", name: "claim" } }]]),
      snapshots: new Map([
        [
          snap,
          { volumeSnapshotContent: "snapcontent-1", volumeSnapshot: { namespace: "ns", name: "nightly" } },
        ],
      ]),
    });
    expect(lineage.kubernetes).toEqual({ consulted: true });
    expect(node(lineage, vol).kubernetes).toEqual({ pv: "pvc-new", pvc: { namespace: "ns", name: "claim" } });
    expect(node(lineage, snap).kubernetes).toEqual({
      volumeSnapshotContent: "snapcontent-1",
      volumeSnapshot: { namespace: "ns", name: "nightly" },
    });
    const text = renderLineageText(lineage);
    expect(text).toContain(
      `volume ${vol}  1 MiB  ${at(1).toISOString()}  PV pvc-new (PVC ns/claim)  [1 dependant]`,
    );
    expect(text).toContain(
      `└─ snapshot ${snap}  1 MiB  ${at(2).toISOString()}  VolumeSnapshot ns/nightly (content snapcontent-1)  [safe to delete]`,
    );
  });

  it("names snapshots from the files CreateSnapshot left on the RDS, the newest first, the cluster over them", () => {
    const rds = new Rds();
    const vol = rds.volume("v", 1, MiB);
    const snap = rds.snapshot("s", vol, 2, MiB);
    const other = rds.snapshot("t", vol, 3, MiB);
    const recorded = (id: string, name: string, ms: number) =>
      file(
        layout
          .inPool(
            `${layout.namesDir()}/${namesFileName(id, { namespace: "ns", name, content: `c-${name}` }, ms)}`,
          )
          .slice(1),
        0n,
      );
    const listings = {
      ...rds.listings,
      namesFiles: [
        recorded(snap, "retried", 2000),
        recorded(snap, "first", 1000),
        recorded(other, "t", 1000),
      ],
    };
    const fromRds = buildLineage({ layout, listings, generatedAt: at(59) });
    expect(node(fromRds, snap).kubernetes).toEqual({
      volumeSnapshot: { namespace: "ns", name: "retried" },
      volumeSnapshotContent: "c-retried",
    });
    const withCluster = buildLineage({
      layout,
      listings,
      generatedAt: at(59),
      kubernetes: {
        volumes: new Map(),
        snapshots: new Map([[other, { volumeSnapshot: { namespace: "ns", name: "renamed" } }]]),
      },
    });
    expect(node(withCluster, other).kubernetes).toEqual({
      volumeSnapshot: { namespace: "ns", name: "renamed" },
      volumeSnapshotContent: "c-t",
    });
  });

  it("says why the names are missing when the cluster could not be read", () => {
    const lineage = build(new Rds(), { volumes: new Map(), snapshots: new Map(), error: "HTTP 403" });
    expect(lineage.kubernetes).toEqual({ consulted: false, error: "HTTP 403" });
    expect(renderLineageText(lineage)).toContain("Kubernetes names not read: HTTP 403");
  });
});

describe("the page", () => {
  it("escapes every value it shows", () => {
    const rds = new Rds();
    const vol = rds.volume("v", 1, MiB);
    const snap = rds.snapshot("s", vol, 2, MiB);
    const evil = `<script>alert("x")</script>&'`;
    const html = renderLineageHtml(
      build(rds, {
        volumes: new Map(),
        snapshots: new Map([
          [snap, { volumeSnapshotContent: evil, volumeSnapshot: { namespace: evil, name: evil } }],
        ]),
      }),
    );
    expect(html).not.toContain("<script");
    expect(html).not.toContain(`"x"`);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
    expect(html).toContain(
      `data-id="${snap}" data-kind="snapshot" data-present="true" data-parent="${vol}" data-edge="snapshot"`,
    );
  });
});

describe("the page's source", () => {
  it("reads once for concurrent loads and reuses a fresh result", async () => {
    let reads = 0;
    let release!: () => void;
    const lineage = build(new Rds());
    const source = cachedLineage(async () => {
      reads++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return lineage;
    }, 60_000);
    const both = Promise.all([source(), source()]);
    release();
    expect(await both).toEqual([lineage, lineage]);
    expect(await source()).toBe(lineage);
    expect(reads).toBe(1);
  });

  it("reads again after a failure", async () => {
    let reads = 0;
    const lineage = build(new Rds());
    const source = cachedLineage(async () => {
      reads++;
      if (reads === 1) throw new Error("connection lost");
      return lineage;
    }, 60_000);
    await expect(source()).rejects.toThrow("connection lost");
    expect(await source()).toBe(lineage);
    expect(reads).toBe(2);
  });
});
