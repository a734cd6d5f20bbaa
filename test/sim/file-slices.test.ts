import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { v5 as uuidv5 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pathPatternMatcher } from "../../src/rds/command.js";
import { IMAGE_SIZE_PROPLIST, query, SUBVOLUME_PROPLIST } from "../../src/rds/queries.js";
import { listCommand } from "../../src/rds/runner.js";
import { DirectoryListings, positionsWithPrefixes } from "../../src/sim/menus/dir-listings.js";
import { nameRangeOf } from "../../src/storage/id-ranges.js";
import { Layout } from "../../src/storage/layout.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

/**
 * A later page of ListSnapshots reads a slice of the snapshot id space in one line:
 * `/file print … where name~"^raid1/rds-csi/snaps/[^/]+/snap-(…)[^/]*\/disk[.]img"`
 * (`query.filesMatching` of `Layout.snapshotImagesPattern`, under one volume or any) and
 * `/disk/btrfs/subvolume print … where … name~"^snap-(…)"`. The emulator answers the pattern from
 * kept, sorted directory listings, reading only the names the slice can match; on a real Btrfs
 * pool, with snapshots made and deleted behind its back and through it, each answer must be exactly
 * the forced full scan's (`(…)=true` reads every file) under every setting that changes an answer.
 */

const NS = "0b1f4a3e-94a6-4f59-9a43-1c2b3d4e5f60";
const VOLUMES = ["pvc-a", "pvc-b", "pvc-c"].map((v) => `pvc-${uuidv5(v, NS)}`);
const layout = new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" });

let sim: SimFixture;
const host = (relative: string) => path.join(sim.poolMountPath, relative);
const snapshotDir = (volume: string, id: string) => `rds-csi/snaps/${volume}/${id}`;
let made = 0;

/** Read-only snapshots of a volume made on the host, behind the emulator's back. */
function snapshotBehind(volume: string, count: number): string[] {
  const ids = Array.from({ length: count }, () => `snap-${uuidv5(`s-${made++}`, NS)}`);
  for (const id of ids) {
    execFileSync(
      "btrfs",
      ["subvolume", "snapshot", "-r", host(`rds-csi/vols/${volume}`), host(snapshotDir(volume, id))],
      {
        stdio: "ignore",
      },
    );
  }
  return ids;
}

async function exec(line: string): Promise<string> {
  const r = await sim.control.exec(line, 0);
  return r.error === null ? r.output : `error: ${r.error}`;
}

/** The listing line of a query, in the form a version prints (JSON from 7.13, as-value before). */
function lineOf(
  q: { menu: string; condition?: unknown; proplist?: readonly string[] },
  form: "json" | "as-value",
) {
  return listCommand(q.menu as never, q.condition as never, form, q.proplist as never).line;
}

/** The same line with its condition forced through the full scan: `where (…)=true`. */
function forced(line: string): string {
  const at = line.indexOf(" where ");
  const end = line.endsWith("]]") ? line.length - 2 : line.endsWith("]") ? line.length - 1 : line.length;
  return `${line.slice(0, at)} where (${line.slice(at + 7, end)})=true${line.slice(end)}`;
}

/** Slices of the id space as a walk asks for them: wide and narrow, at the ends and inside. */
const SLICES: Array<[number, number]> = [
  [0x0000, 0x3fff],
  [0x1234, 0x5a0f],
  [0x8000, 0x8fff],
  [0xa5a5, 0xffff],
  [0x0000, 0xffff],
  [0x7777, 0x7777],
];

function sliceLines(form: "json" | "as-value"): string[] {
  const lines: string[] = [];
  for (const [i, [from, to]] of SLICES.entries()) {
    const range = nameRangeOf({ from, to });
    for (const volume of [undefined, VOLUMES[i % VOLUMES.length] as string]) {
      const pattern = layout.snapshotImagesPattern(range, volume);
      lines.push(lineOf(query.filesMatching(pattern, { proplist: IMAGE_SIZE_PROPLIST }), form));
      lines.push(lineOf(query.filesMatching(pattern), form));
      // No proplist at all: every property, `contents` of small files included.
      lines.push(lineOf(query.filesMatching(pattern), form).replace(/ proplist=\S+/, ""));
      const subvolumes = query.subvolumes({
        fullnamePrefix: volume === undefined ? "rds-csi/snaps/" : `rds-csi/snaps/${volume}/`,
        fs: "raid1",
        proplist: SUBVOLUME_PROPLIST,
        nameRange: range,
      });
      lines.push(lineOf(subvolumes, form));
      lines.push(lineOf(subvolumes, form).replace(/ proplist=\S+/, ""));
    }
    // A prefix inside one folder (a pattern not read by path components walks from it).
    const volume = VOLUMES[i % VOLUMES.length] as string;
    const start = from.toString(16).padStart(4, "0").slice(0, 2);
    for (const tail of ["", ".*", "[^/]*/disk"]) {
      const pattern = `^raid1/rds-csi/snaps/${volume}/snap-${start}${tail}`;
      lines.push(
        `:put [:serialize to=json [/file print detail as-value proplist=name,size where name~"${pattern}"]]`,
      );
    }
  }
  return lines;
}

/** The images a slice's pattern matches, as the host's own directories list them. */
function hostImages(from: number, to: number): string[] {
  const matches = pathPatternMatcher(layout.snapshotImagesPattern(nameRangeOf({ from, to })));
  const out: string[] = [];
  for (const volume of readdirSync(host("rds-csi/snaps"))) {
    const dir = host(`rds-csi/snaps/${volume}`);
    if (!statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir)) {
      const image = `raid1/rds-csi/snaps/${volume}/${name}/disk.img`;
      if (matches(image) && statSync(host(image.slice("raid1/".length)), { throwIfNoEntry: false })?.isFile())
        out.push(image);
    }
  }
  return out.sort();
}

async function expectSameAsFullScan(label: string, form: "json" | "as-value" = "json"): Promise<number> {
  let items = 0;
  for (const line of sliceLines(form)) {
    const narrowed = await exec(line);
    expect(narrowed, `${label}: ${line}`).toEqual(await exec(forced(line)));
    expect(narrowed).not.toMatch(/^error/);
    items +=
      (narrowed.match(/name=|"name":/g) ?? []).length +
      (narrowed.match(/fullname=|"fullname":/g) ?? []).length;
  }
  return items;
}

async function imagesOf(from: number, to: number): Promise<string[]> {
  const pattern = layout.snapshotImagesPattern(nameRangeOf({ from, to }));
  const out = await exec(lineOf(query.filesMatching(pattern, { proplist: IMAGE_SIZE_PROPLIST }), "json"));
  return (JSON.parse(out) as Array<{ name: string }>).map((f) => f.name).sort();
}

/** Waits until the pool's directories are older than the time a listing is kept after (1 s). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));

beforeAll(async () => {
  sim = await startSim();
  mkdirSync(host("rds-csi/vols"), { recursive: true });
  for (const [i, volume] of VOLUMES.entries()) {
    execFileSync("btrfs", ["subvolume", "create", host(`rds-csi/vols/${volume}`)], { stdio: "ignore" });
    writeFileSync(host(`rds-csi/vols/${volume}/disk.img`), "x".repeat(100 * (i + 1)));
    mkdirSync(host(`rds-csi/snaps/${volume}`), { recursive: true });
  }
  for (const volume of VOLUMES) snapshotBehind(volume, 30);
  // Names a slice's pattern must not confuse: an image beside the image, a plain folder and a
  // file named like snapshots, an image one level too deep, a folder named like the image.
  writeFileSync(host(`rds-csi/vols/${VOLUMES[0]}/disk.img.bak`), "old");
  snapshotBehind(VOLUMES[0] as string, 3);
  mkdirSync(host(`rds-csi/snaps/${VOLUMES[1]}/snap-1234plain/deeper/snap-1234x`), { recursive: true });
  writeFileSync(host(`rds-csi/snaps/${VOLUMES[1]}/snap-1234plain/disk.img`), "plain");
  writeFileSync(host(`rds-csi/snaps/${VOLUMES[1]}/snap-1234plain/deeper/snap-1234x/disk.img`), "deep");
  writeFileSync(host(`rds-csi/snaps/${VOLUMES[2]}/snap-8000file`), "a file");
  mkdirSync(host(`rds-csi/snaps/${VOLUMES[2]}/snap-a5a5dir/disk.img`), { recursive: true });
  writeFileSync(host(`rds-csi/snaps/${VOLUMES[2]}/snap-a5a5dir/disk.img/inner`), "inside");
  await sim.control.refresh();
  await settle();
});

afterAll(async () => {
  await sim?.stop();
});

describe("a slice of snapshot images by path pattern", () => {
  const cases: Array<{ settings: Record<string, unknown>; form?: "as-value" }> = [
    { settings: {} },
    { settings: { file_print_order: "alphabetical" } },
    { settings: { file_id_form: "star-hex", proplist_keeps_id: false } },
    { settings: { file_listing_contents: false, creation_time_format: "routeros" } },
    {
      settings: {
        subvolume_fullname_form: "leading-slash",
        subvolume_fs_form: "uuid",
        subvolume_parent_format: "fullname",
      },
    },
    // The form a client without `:serialize` reads.
    { settings: { file_print_order: "alphabetical" }, form: "as-value" },
  ];
  for (const { settings, form } of cases) {
    it(`answers what the full scan answers (${JSON.stringify(settings)}${form ? `, ${form}` : ""})`, async () => {
      const saved = await sim.control.getSettings();
      await sim.control.setSettings(settings);
      try {
        // Twice: the first answer reads the listings, the second answers from those kept.
        const label = JSON.stringify(settings);
        const items = await expectSameAsFullScan(label, form);
        expect(await expectSameAsFullScan(`${label} again`, form)).toBe(items);
        // The slices do select items (the comparison is not between empty answers).
        expect(items).toBeGreaterThan(300);
      } finally {
        await sim.control.setSettings(saved);
      }
    });
  }

  it("sees snapshots made, deleted and renamed behind its back, and through it, at once", async () => {
    const [from, to] = SLICES[1] as [number, number];
    /** The snapshot folders (not the plain look-alikes) of images, relative to the pool. */
    const snapshotsOf = (images: readonly string[]) =>
      images.filter((i) => /\/snap-[0-9a-f]{8}-/.test(i)).map((i) => path.dirname(i).slice("raid1/".length));
    const renamed = (folder: string, position: string) =>
      folder.replace(/\/snap-[0-9a-f]{4}/, `/snap-${position}`);
    const before = await imagesOf(from, to);
    expect(before).toEqual(hostImages(from, to));
    expect(before.length).toBeGreaterThan(5);
    const [gone, movedOut] = snapshotsOf(before) as [string, string];
    const [movedIn] = snapshotsOf(hostImages(0xa000, 0xffff)) as [string];
    // Behind its back: more snapshots, one deleted, one renamed out of the slice and one into it.
    snapshotBehind(VOLUMES[1] as string, 12);
    execFileSync("btrfs", ["subvolume", "delete", host(gone)], { stdio: "ignore" });
    renameSync(host(movedOut), host(renamed(movedOut, "ffff")));
    renameSync(host(movedIn), host(renamed(movedIn, "2000")));
    const after = await imagesOf(from, to);
    expect(after).toContain(`raid1/${renamed(movedIn, "2000")}/disk.img`);
    expect(after).not.toContain(`raid1/${gone}/disk.img`);
    expect(after).not.toContain(`raid1/${movedOut}/disk.img`);
    expect(after).toEqual(hostImages(from, to));
    expect(after).not.toEqual(before);
    // Through the emulator: a snapshot taken and one removed.
    const id = `snap-3${uuidv5("through", NS).slice(1)}`;
    const volume = VOLUMES[2] as string;
    expect(
      await exec(
        `/disk/btrfs/subvolume add fs=raid1 name=${snapshotDir(volume, id)} parent=rds-csi/vols/${volume} read-only=yes`,
      ),
    ).toBe("");
    const dropped = snapshotsOf(after)[2] as string;
    expect(await exec(`/disk/btrfs/subvolume remove [find where fullname="${dropped}"]`)).toBe("");
    const last = await imagesOf(from, to);
    expect(last).toContain(`raid1/${snapshotDir(volume, id)}/disk.img`);
    expect(last).not.toContain(`raid1/${dropped}/disk.img`);
    expect(last).toEqual(hostImages(from, to));
    // Once the changed folders have settled (their listings kept again), the same answers.
    await settle();
    expect(await imagesOf(from, to)).toEqual(last);
    await sim.control.refresh();
    expect(await expectSameAsFullScan("after the changes")).toBeGreaterThan(300);
  });

  it("answers over SSH as through the control socket", async () => {
    const pattern = layout.snapshotImagesPattern(nameRangeOf({ from: 0x1234, to: 0x5a0f }));
    const line = lineOf(query.filesMatching(pattern, { proplist: IMAGE_SIZE_PROPLIST }), "json");
    const over = await sshExec(sim, line, { user: "admin+ct4096w" });
    // `:put` wraps a long reply at the session's width: compare the lines joined.
    const joined = (text: string) => text.replace(/\r?\n/g, "");
    expect(joined(over.stdout)).toBe(joined(await exec(line)));
    expect(over.stdout.length).toBeGreaterThan(1000);
  });
});

describe("kept directory listings", () => {
  it("are used while the directory is unchanged, and read again once it changes", async () => {
    const listings = new DirectoryListings();
    const dir = host(`rds-csi/snaps/${VOLUMES[0]}`);
    const first = await listings.read(dir, statSync(dir));
    expect(await listings.read(dir, statSync(dir))).toBe(first);
    expect(first.names).toEqual(readdirSync(dir).sort());
    const [id] = snapshotBehind(VOLUMES[0] as string, 1);
    const changed = await listings.read(dir, statSync(dir));
    expect(changed.names).toContain(id);
    expect(changed.names).toEqual(readdirSync(dir).sort());
    // Changed within the last second: read, not kept (a change in the same clock tick could hide).
    expect(await listings.read(dir, statSync(dir))).not.toBe(changed);
    await settle();
    const settled = await listings.read(dir, statSync(dir));
    expect(await listings.read(dir, statSync(dir))).toBe(settled);
  });

  it("find the names starting with any of some prefixes, in name order", () => {
    const next = seededRandom(11);
    const alphabet = "ab-1";
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(next() * 4)]).join("");
    for (let round = 0; round < 300; round++) {
      const names = [
        ...new Set(Array.from({ length: Math.floor(next() * 40) }, () => word(1 + Math.floor(next() * 5)))),
      ].sort();
      const prefixes = Array.from({ length: 1 + Math.floor(next() * 4) }, () => word(Math.floor(next() * 3)));
      const expected = names.flatMap((n, i) => (prefixes.some((p) => n.startsWith(p)) ? [i] : []));
      expect(positionsWithPrefixes(names, prefixes), JSON.stringify({ names, prefixes })).toEqual(expected);
    }
  });
});
