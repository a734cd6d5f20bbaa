import fc from "fast-check";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  expandedSize,
  fitsRange,
  GiB,
  KiB,
  MINIMUM_ALIGNMENT,
  MiB,
  newVolumeSize,
  parseByteCount,
  parseRange,
  sizeFromSource,
} from "../../src/csi/controller/sizes.js";
import { decodeListToken, encodeListToken, pageOf } from "../../src/csi/controller/tokens.js";
import { RdsClient } from "../../src/rds/client.js";
import type { FileInfo } from "../../src/rds/index.js";
import type { Directories } from "../../src/storage/directories.js";
import { isSnapshotId, isVolumeId, nameProblem, snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import type { StorageRds } from "../../src/storage/index.js";
import { Layout } from "../../src/storage/layout.js";
import {
  checkedNames,
  decodeVolumeComment,
  describeNames,
  encodeVolumeComment,
  hostTag,
  sameSource,
} from "../../src/storage/metadata.js";
import { SnapshotStore } from "../../src/storage/snapshots.js";
import { sweepIntervalFor } from "../../src/storage/tombstone-sweep.js";
import { Tombstones } from "../../src/storage/tombstones.js";

describe("ids", () => {
  it("derives stable, distinct, well-formed ids from names", () => {
    const v = volumeIdFor("pvc-0f3c");
    expect(v).toBe(volumeIdFor("pvc-0f3c"));
    expect(v).toMatch(/^pvc-[0-9a-f-]{36}$/);
    expect(isVolumeId(v)).toBe(true);
    expect(isSnapshotId(v)).toBe(false);
    const s = snapshotIdFor("pvc-0f3c");
    expect(s).toMatch(/^snap-[0-9a-f-]{36}$/);
    expect(isSnapshotId(s)).toBe(true);
    expect(s.slice(5)).not.toBe(v.slice(4));
    expect(volumeIdFor("Name")).not.toBe(volumeIdFor("name"));
  });

  it("accepts any name and always yields an id the RDS can carry", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 128, unit: "grapheme" }), (name) => {
        expect(volumeIdFor(name)).toMatch(
          /^pvc-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(isSnapshotId(snapshotIdFor(name))).toBe(true);
      }),
    );
  });

  it("rejects ids that are not ours", () => {
    for (const id of [
      "",
      "fake-vol-id",
      "pvc-",
      "PVC-4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4",
      "pvc-4cd605e7-afa2-4360-b5b9-c5e9fb5c76f4",
      "pvc-4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4x",
      "pvc-4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4/../x",
      "snap-4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4\n",
    ]) {
      expect(isVolumeId(id), id).toBe(false);
      expect(isSnapshotId(id), id).toBe(false);
    }
  });

  it("checks names against the spec's limits", () => {
    expect(nameProblem("")).toMatch(/required/);
    expect(nameProblem("a".repeat(128))).toBeUndefined();
    expect(nameProblem("a".repeat(129))).toMatch(/129 bytes/);
    expect(nameProblem("é".repeat(65))).toMatch(/130 bytes/);
    expect(nameProblem("bell\u0007")).toMatch(/control/);
    expect(nameProblem("tab\tand\nnewline are allowed")).toBeUndefined();
    expect(nameProblem("Mixed Case ünïcode ✓")).toBeUndefined();
  });
});

describe("sizes", () => {
  const range = (required: bigint, limit = 0n) => ({ required, limit });

  it("parses int64 strings exactly and refuses anything else", () => {
    expect(parseByteCount("9223372036854775807")).toBe(9223372036854775807n);
    expect(parseByteCount("9223372036854775808")).toBeUndefined();
    expect(parseByteCount("-1")).toBeUndefined();
    expect(parseByteCount("1e9")).toBeUndefined();
    expect(parseRange(null)).toEqual({ required: 0n, limit: 0n });
    expect(parseRange({ required_bytes: "10", limit_bytes: "" })).toEqual({ required: 10n, limit: 0n });
    expect(parseRange({ required_bytes: "-5", limit_bytes: "0" })).toHaveProperty("error");
  });

  it("defaults to 1 GiB and rounds up to whole MiB", () => {
    expect(newVolumeSize(range(0n))).toEqual({ ok: true, bytes: GiB });
    expect(newVolumeSize(range(1n))).toEqual({ ok: true, bytes: MiB });
    expect(newVolumeSize(range(10n * GiB, 10n * GiB))).toEqual({ ok: true, bytes: 10n * GiB });
    expect(newVolumeSize(range(GiB + 1n))).toEqual({ ok: true, bytes: GiB + MiB });
  });

  it("falls back to 4 KiB granularity under a tight limit, never passes the limit", () => {
    const block = 4n * KiB;
    expect(newVolumeSize(range(MiB + 1n, MiB + 8n * KiB), block)).toEqual({
      ok: true,
      bytes: MiB + 4n * KiB,
    });
    const r = newVolumeSize(range(MiB + 1n, MiB + 100n), block);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe("out-of-range");
      expect(r.message).toContain(String(MiB + 100n));
    }
    expect(newVolumeSize(range(2n * MiB, MiB)).ok).toBe(false);
    expect(newVolumeSize(range(0n, 10n * MiB + 5n))).toEqual({ ok: true, bytes: 10n * MiB });
    expect(newVolumeSize(range(0n, 100n)).ok).toBe(false);
  });

  it("never chooses a size the RouterOS client would round past the limit", () => {
    const r = newVolumeSize(range(MiB + 1n, MiB + 8n * KiB));
    if (r.ok) expect(r.bytes % MINIMUM_ALIGNMENT).toBe(0n);
    if (MINIMUM_ALIGNMENT > MiB + 8n * KiB - MiB) expect(r.ok).toBe(false);
  });

  it("always lands inside the requested range when it succeeds", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 50n }),
        fc.bigInt({ min: 0n, max: 1n << 50n }),
        (required, limit) => {
          const r = newVolumeSize({ required, limit });
          if (!r.ok) return;
          expect(r.bytes >= required).toBe(true);
          if (limit > 0n) expect(r.bytes <= limit).toBe(true);
          expect(r.bytes % (4n * KiB)).toBe(0n);
        },
      ),
    );
  });

  it("restores keep the source size, grow on request, and never shrink", () => {
    const src = 3n * GiB;
    expect(sizeFromSource(range(0n), src, "snapshot")).toEqual({ ok: true, bytes: src });
    expect(sizeFromSource(range(src), src, "snapshot")).toEqual({ ok: true, bytes: src });
    expect(sizeFromSource(range(5n * GiB), src, "snapshot")).toEqual({ ok: true, bytes: 5n * GiB });
    const smaller = sizeFromSource(range(GiB), src, "snapshot");
    expect(smaller).toMatchObject({ ok: false, reason: "out-of-range" });
    expect(sizeFromSource(range(0n, GiB), src, "snapshot")).toMatchObject({
      ok: false,
      reason: "out-of-range",
    });
  });

  it("expansion grows only and respects the limit", () => {
    expect(expandedSize(range(2n * GiB), GiB)).toEqual({ ok: true, bytes: 2n * GiB });
    expect(expandedSize(range(GiB), 2n * GiB)).toEqual({ ok: true, bytes: 2n * GiB });
    expect(expandedSize(range(GiB, GiB), 2n * GiB)).toMatchObject({ ok: false, reason: "out-of-range" });
    expect(expandedSize(range(0n), GiB)).toMatchObject({ ok: false, reason: "invalid" });
    expect(fitsRange(GiB, range(GiB, GiB))).toBe(true);
    expect(fitsRange(GiB, range(2n * GiB))).toBe(false);
    expect(fitsRange(2n * GiB, range(GiB, GiB))).toBe(false);
  });
});

describe("layout", () => {
  const layout = new Layout({ pool: "raid1", fsLabel: "pool1", root: "rds-csi" });
  const vol = volumeIdFor("v");
  const snap = snapshotIdFor("s");

  it("places volumes and snapshots under the root", () => {
    expect(layout.volumeSubvolume(vol)).toBe(`rds-csi/vols/${vol}`);
    expect(layout.volumeImage(vol)).toBe(`/raid1/rds-csi/vols/${vol}/disk.img`);
    expect(layout.snapshotSubvolume(vol, snap)).toBe(`rds-csi/snaps/${vol}/${snap}`);
    expect(layout.snapshotImage(vol, snap)).toBe(`/raid1/rds-csi/snaps/${vol}/${snap}/disk.img`);
    expect(layout.hostImagePath("/mnt/pool/", vol)).toBe(`/mnt/pool/rds-csi/vols/${vol}/disk.img`);
  });

  it("recognises only its own snapshot paths", () => {
    expect(layout.parseSnapshotSubvolume(`rds-csi/snaps/${vol}/${snap}`)).toEqual({
      sourceVolumeId: vol,
      snapshotId: snap,
    });
    expect(layout.parseSnapshotImage(`raid1/rds-csi/snaps/${vol}/${snap}/disk.img`)).toEqual({
      sourceVolumeId: vol,
      snapshotId: snap,
    });
    expect(layout.parseSnapshotSubvolume(`other/snaps/${vol}/${snap}`)).toBeUndefined();
    expect(layout.parseSnapshotSubvolume(`rds-csi/snaps/${vol}/snap-x`)).toBeUndefined();
    expect(layout.parseSnapshotSubvolume(`rds-csi/snaps/${vol}/${snap}/deeper`)).toBeUndefined();
    expect(layout.parseSnapshotSubvolume(`rds-csi/snaps/${snap}/${vol}`)).toBeUndefined();
    expect(layout.parseSnapshotImage(`raid1/rds-csi/snaps/${vol}/${snap}/other.img`)).toBeUndefined();
  });

  it("reads snapshot paths with or without leading slashes, and nothing around them", () => {
    const found = { sourceVolumeId: vol, snapshotId: snap };
    expect(layout.parseSnapshotSubvolume(`/rds-csi/snaps/${vol}/${snap}`)).toEqual(found);
    expect(layout.parseSnapshotImage(`/raid1/rds-csi/snaps/${vol}/${snap}/disk.img`)).toEqual(found);
    for (const other of [
      "",
      "rds-csi/snaps",
      "rds-csi/snaps/",
      `rds-csi/snaps/${vol}`,
      `rds-csi/snaps/${vol}/`,
      `rds-csi/snaps//${snap}`,
      `rds-csi/snaps/${vol}/${snap}/`,
      `rds-csi/snapsx/${vol}/${snap}`,
      `xrds-csi/snaps/${vol}/${snap}`,
    ]) {
      expect(layout.parseSnapshotSubvolume(other), other).toBeUndefined();
      expect(layout.parseSnapshotImage(`raid1/${other}/disk.img`), other).toBeUndefined();
    }
    for (const other of [
      "raid1/disk.img",
      "disk.img",
      `raid1/rds-csi/snaps/${vol}/${snap}`,
      `raid1/rds-csi/snaps/${vol}/${snap}/disk.img/x`,
      `raid1x/rds-csi/snaps/${vol}/${snap}/disk.img`,
      `raid/rds-csi/snaps/${vol}/${snap}/disk.img`,
      `other/rds-csi/snaps/${vol}/${snap}/disk.img`,
      `raid1/rds-csi/snaps/${vol}/${snap}/xdisk.img`,
    ]) {
      expect(layout.parseSnapshotImage(other), other).toBeUndefined();
    }
  });
});

describe("volume metadata", () => {
  const snap = snapshotIdFor("s");
  const vol = volumeIdFor("v");

  it("round-trips every content source", () => {
    for (const source of [
      undefined,
      { kind: "snapshot", snapshotId: snap },
      { kind: "volume", volumeId: vol },
    ] as const) {
      const comment = encodeVolumeComment({ source });
      expect(comment.length).toBeLessThan(80);
      const back = decodeVolumeComment(comment);
      expect(back).toBeDefined();
      expect(sameSource(back!.source, source)).toBe(true);
    }
  });

  it("carries the token of an unconfirmed create attempt, and drops it when confirmed", () => {
    const source = { kind: "snapshot", snapshotId: snap } as const;
    const made = encodeVolumeComment({ source, attempt: "0123456789abcdef" });
    expect(made).toBe(`rds-csi v1 source=snapshot:${snap} attempt=0123456789abcdef`);
    expect(decodeVolumeComment(made)).toEqual({ source, attempt: "0123456789abcdef" });
    expect(decodeVolumeComment(encodeVolumeComment({ source }))).toEqual({ source });
    expect(() => encodeVolumeComment({ source, attempt: "x y" })).toThrow(/bad attempt/);
  });

  it("records the hosts a volume is published to read-only, by a short tag, beside everything else", () => {
    const hostA = "nqn.2014-08.org.nvmexpress:uuid:0a0a0a0a-0000-4000-8000-00000000000a";
    const hostB = "nqn.2014-08.org.nvmexpress:uuid:0b0b0b0b-0000-4000-8000-00000000000b";
    expect(hostTag(hostA)).toMatch(/^[0-9a-f]{12}$/);
    expect(hostTag(hostA)).not.toBe(hostTag(hostB));
    const source = { kind: "volume", volumeId: vol } as const;
    const names = { pv: "pvc-0123", pvc: { namespace: "default", name: "data" } };
    const tags = [hostTag(hostB), hostTag(hostA)].sort();
    const comment = encodeVolumeComment({ source, attempt: "0123456789abcdef", names, readOnlyHosts: tags });
    expect(comment).toBe(
      `rds-csi v1 source=volume:${vol} attempt=0123456789abcdef ro=${tags.join(",")} pv=pvc-0123 pvc=default/data`,
    );
    expect(comment.length).toBeLessThanOrEqual(255);
    expect(decodeVolumeComment(comment)).toEqual({
      source,
      attempt: "0123456789abcdef",
      names,
      readOnlyHosts: tags,
    });
    // No read-only host: no ro= word at all, the comment as before.
    expect(encodeVolumeComment({ source, readOnlyHosts: [] })).toBe(`rds-csi v1 source=volume:${vol}`);
    expect(() => encodeVolumeComment({ source, readOnlyHosts: ["nqn.x"] })).toThrow(/bad host tags/);
    for (const c of [
      "rds-csi v1 ro=",
      "rds-csi v1 ro=0123",
      "rds-csi v1 ro=0123456789ab,",
      "rds-csi v1 ro=ZZZZZZZZZZZZ",
    ]) {
      expect(decodeVolumeComment(c), c).toBeUndefined();
    }
  });

  it("refuses comments it did not write", () => {
    for (const c of [
      undefined,
      "",
      "hello",
      "rds-csi v2",
      `rds-csi v1 source=snapshot:${vol}`,
      "rds-csi v1 source=volume:pvc-x",
      `rds-csi v1 source=volume:${vol} extra`,
      `rds-csi v1 source=volume:${vol} source=volume:${vol}`,
      "rds-csi v1 attempt=XYZ",
      "rds-csi v1 attempt=",
      "rds-csi v1 =1",
    ]) {
      expect(decodeVolumeComment(c), String(c)).toBeUndefined();
    }
  });
});

describe("list tokens", () => {
  const ids = ["a", "b", "c", "d", "e"].map((n) => snapshotIdFor(n)).sort();

  it("pages through everything exactly once", () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = pageOf(ids, (x) => x, after, 2);
      seen.push(...page.items);
      if (page.nextToken === "") break;
      after = decodeListToken(page.nextToken)?.afterId;
      expect(after).toBeDefined();
    }
    expect(seen).toEqual(ids);
  });

  it("resumes after the token's id even when that snapshot was deleted", () => {
    const token = encodeListToken(ids[1]!);
    const remaining = ids.filter((id) => id !== ids[1]);
    expect(pageOf(remaining, (x) => x, decodeListToken(token)?.afterId, 0).items).toEqual(ids.slice(2));
  });

  it("carries the walk's count as a hint, and still reads tokens without one", () => {
    expect(decodeListToken(encodeListToken(ids[1]!, 10_000))).toEqual({ afterId: ids[1], total: 10_000 });
    expect(decodeListToken(encodeListToken(ids[1]!))).toEqual({ afterId: ids[1] });
    expect(decodeListToken(`v1.${ids[1]}`)).toEqual({ afterId: ids[1] });
  });

  it("rejects foreign tokens", () => {
    for (const t of [
      "invalid-token",
      "v1.",
      "v1.snap-x",
      `v1.${ids[0]}.5`,
      `v2.${ids[0]}.-1`,
      `v2.${ids[0]}.1x`,
      `v2.${ids[0]}.1.2`,
      `v3.${ids[0]}`,
      ids[0]!,
    ]) {
      expect(decodeListToken(t), t).toBeUndefined();
    }
  });
});

describe("Kubernetes names in the volume comment", () => {
  const snap = snapshotIdFor("s");
  const pv = "pvc-0f3c7a52-9d1e-4b7a-8c55-2a1b3c4d5e6f";
  const names = { pv, pvc: { namespace: "shop", name: "data-postgres-0" } };

  it("records the PV and claim beside the source and attempt token, and reads them back", () => {
    const source = { kind: "snapshot", snapshotId: snap } as const;
    const made = encodeVolumeComment({ source, attempt: "0123456789abcdef", names });
    expect(made).toBe(
      `rds-csi v1 source=snapshot:${snap} attempt=0123456789abcdef pv=${pv} pvc=shop/data-postgres-0`,
    );
    expect(decodeVolumeComment(made)).toEqual({ source, attempt: "0123456789abcdef", names });
    // Confirming drops only the token.
    expect(decodeVolumeComment(encodeVolumeComment({ source, names }))).toEqual({ source, names });
    expect(describeNames(names)).toBe(`PV ${pv} (PVC shop/data-postgres-0)`);
  });

  it("stays within RouterOS's 255-character comments: a claim name too long is left out, the PV kept", () => {
    const long = { pv, pvc: { namespace: "a".repeat(63), name: "b".repeat(200) } };
    const made = encodeVolumeComment({
      source: { kind: "snapshot", snapshotId: snap },
      attempt: "0123456789abcdef",
      names: long,
    });
    expect(made.length).toBeLessThanOrEqual(255);
    expect(decodeVolumeComment(made)?.names).toEqual({ pv });
  });

  it("leaves out names Kubernetes would not allow, so nothing odd reaches RouterOS", () => {
    expect(checkedNames({ pv: 'x" ; /system reboot', pvcNamespace: "ns", pvcName: "Data" })).toBeUndefined();
    expect(checkedNames({ pv, pvcNamespace: "ns", pvcName: "$(x)" })).toEqual({ pv });
    expect(checkedNames({ pvcNamespace: "ns", pvcName: "ok.name-1" })).toEqual({
      pvc: { namespace: "ns", name: "ok.name-1" },
    });
    expect(encodeVolumeComment({ source: undefined, names: { pv: "UPPER" } })).toBe("rds-csi v1");
  });

  it("reads comments written before names were recorded, and refuses malformed names", () => {
    expect(decodeVolumeComment(`rds-csi v1 source=snapshot:${snap}`)).toEqual({
      source: { kind: "snapshot", snapshotId: snap },
    });
    expect(decodeVolumeComment("rds-csi v1 pvc=noslash")).toBeUndefined();
    expect(decodeVolumeComment("rds-csi v1 pv=Bad_Name")).toBeUndefined();
  });
});

describe("delete marks", () => {
  const layout = new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" });
  // Parsing and naming touch no RouterOS: the port and directories are never called here.
  const marks = new Tombstones({} as StorageRds, layout, {} as Directories, pino({ level: "silent" }), true);
  const file = (name: string): FileInfo => ({ id: null, name, type: "file", size: 0n, lastModified: null });

  it("reads only well-formed marks under the root's marks directory, of the id asked for", () => {
    const v = volumeIdFor("a");
    const s = snapshotIdFor("b");
    const found = marks.parse([
      file(`raid1/rds-csi/deleted/${v}.1796467052110`),
      file(`/raid1/rds-csi/deleted/${s}.5`),
      file(`raid1/rds-csi/deleted/${v}`),
      file(`raid1/rds-csi/deleted/${v}.12x`),
      file(`raid1/rds-csi/deleted/pvc-foreign.1`),
      file(`raid1/other/deleted/${v}.1`),
      file(`raid1/rds-csi/deleted/${v}.1/nested`),
    ]);
    expect(found).toEqual([
      {
        name: `raid1/rds-csi/deleted/${v}.1796467052110`,
        id: v,
        deletedAt: new Date(1796467052110),
        landedAt: null,
      },
      { name: `raid1/rds-csi/deleted/${s}.5`, id: s, deletedAt: new Date(5), landedAt: null },
    ]);
    expect(marks.parse([file(`raid1/rds-csi/deleted/${v}.1`)], s)).toEqual([]);
  });

  it("sweeps a fifth of the window apart, between 1 s and 1 min", () => {
    expect(sweepIntervalFor(300_000)).toBe(60_000);
    expect(sweepIntervalFor(3_600_000)).toBe(60_000);
    expect(sweepIntervalFor(20_000)).toBe(4_000);
    expect(sweepIntervalFor(2_000)).toBe(1_000);
  });
});

describe("what a page of snapshots asks for", () => {
  const vol = volumeIdFor("v");
  const snap = snapshotIdFor("s");
  const layout = new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" });
  const image = `raid1/rds-csi/snaps/${vol}/${snap}/disk.img`;
  /** A SnapshotStore over a client whose one reply is `reply`; returns it and the lines sent. */
  const storeAnswering = (reply: string) => {
    const sent: string[] = [];
    const transport = {
      async exec(line: string) {
        sent.push(line);
        return { stdout: reply, stderr: "", exitCode: 0 };
      },
    };
    const rds = new RdsClient(transport, { listingForm: "json" }) as unknown as StorageRds;
    const store = new SnapshotStore(rds, {
      layout,
      directories: {} as Directories,
      tombstones: {} as Tombstones,
      logger: pino({ level: "silent" }),
    });
    return { store, sent };
  };
  const located = (creationTime: Date | null) => ({
    snapshotId: snap,
    sourceVolumeId: vol,
    subvolume: {
      id: null,
      fs: null,
      name: snap,
      fullname: `rds-csi/snaps/${vol}/${snap}`,
      uuid: null,
      parent: null,
      readOnly: true,
      snapshot: true,
      creationTime,
    },
  });

  it("asks only the images' sizes when every snapshot showed its creation time", async () => {
    const created = new Date("2026-01-02T03:04:05Z");
    const { store, sent } = storeAnswering(`[{".id":"*1","name":"${image}","size":4194304.000000}]\r\n`);
    const [record] = await store.describeAll([located(created)], {});
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain(`/file print detail as-value proplist=name,size where name="${image}"`);
    expect(record).toEqual({
      snapshotId: snap,
      sourceVolumeId: vol,
      creationTime: created,
      sizeBytes: 4194304n,
      readyToUse: true,
    });
  });

  it("asks an image's last-modified for a snapshot that showed no creation time, and reports it", async () => {
    const { store, sent } = storeAnswering(
      `[{".id":"*1","last-modified":"2026-01-02 03:04:05","name":"${image}","size":4194304.000000,"type":".img file"}]\r\n`,
    );
    const [record] = await store.describeAll([located(null)], {});
    expect(sent[0]).toContain("/file print detail as-value proplist=name,type,size,last-modified where");
    expect(record?.creationTime).toEqual(new Date("2026-01-02T03:04:05Z"));
  });

  it("reads subvolumes listed without `name` (the last component of `fullname`)", async () => {
    const { store, sent } = storeAnswering(
      `[{".id":"*2","creation-time":"2026-01-02 03:04:05","fullname":"rds-csi/snaps/${vol}/${snap}","read-only":true}]\r\n`,
    );
    const [found] = await store.list({}, {});
    expect(sent[0]).toContain(
      "/disk/btrfs/subvolume print detail as-value proplist=fullname,read-only,creation-time where",
    );
    expect(found).toMatchObject({
      snapshotId: snap,
      sourceVolumeId: vol,
      subvolume: { name: snap, readOnly: true },
    });
  });
});
