import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { WalkCache } from "../../src/csi/controller/walk-cache.js";
import { snapshotIdFor } from "../../src/storage/ids.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  listSnapshotsRequest,
  ROOT,
  useHarness,
} from "./harness.js";

/**
 * ListSnapshots over many snapshots: pages of a walk read slices of the id space in one line each,
 * everything at once is read in bounded slices, and both answer exactly what is on the RDS.
 */

const MiB = 1024n * 1024n;
/** How long a walk uses what a read learnt of the images (WalkCache's `describedTtlMs`). */
const DESCRIBED_TTL_MS = new WalkCache().describedTtlMs;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const h = useHarness({ maxSnapshotsPerVolume: 0 });
const run = promisify(execFile);

interface Listed {
  snapshot_id: string;
  source_volume_id: string;
  size_bytes: string;
  ready_to_use: boolean;
  creation_time: { seconds: string; nanos: number } | null;
}

async function volume(name: string, size: bigint): Promise<string> {
  return (await h.call("CreateVolume", createVolumeRequest(name, { required: size }))).volume.volume_id;
}

/** Each page of a walk, the round trips it took and what it returned. */
async function walk(max: number, sourceVolumeId = "") {
  const pages: Array<{ trips: number; entries: Listed[] }> = [];
  let token = "";
  do {
    const before = h.connection.roundTrips;
    const page = await h.call(
      "ListSnapshots",
      listSnapshotsRequest({ maxEntries: max, token, sourceVolumeId }),
    );
    pages.push({
      trips: h.connection.roundTrips - before,
      entries: page.entries.map((e: { snapshot: Listed }) => e.snapshot),
    });
    token = page.next_token;
  } while (token !== "");
  return pages;
}

async function everything(sourceVolumeId = ""): Promise<{ trips: number; entries: Listed[] }> {
  const before = h.connection.roundTrips;
  const res = await h.call("ListSnapshots", listSnapshotsRequest({ sourceVolumeId }));
  return {
    trips: h.connection.roundTrips - before,
    entries: res.entries.map((e: { snapshot: Listed }) => e.snapshot),
  };
}

/**
 * `count` read-only snapshots of each volume made on the host, as the driver lays them out (the
 * ids its names derive), without a round trip each; the emulator is then told to read its table again.
 */
async function snapshotsOnHost(volumes: readonly string[], count: number, tag: string): Promise<string[]> {
  const mount = h.sim.poolMountPath;
  const lines: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const vol = volumes[i % volumes.length] as string;
    const id = snapshotIdFor(`${tag}-${i}`);
    ids.push(id);
    lines.push(`${mount}/${ROOT}/vols/${vol} ${mount}/${ROOT}/snaps/${vol}/${id}`);
  }
  const list = path.join(h.sim.poolMountPath, "..", `${tag}.txt`);
  await writeFile(list, `${lines.join("\n")}\n`);
  await run("sh", ["-c", 'xargs -P 4 -L 1 btrfs subvolume snapshot -r < "$1" > /dev/null', "sh", list]);
  await h.sim.control.refresh();
  return ids;
}

describe("ListSnapshots by slices of the id space", () => {
  it("pages of every size walk exactly what everything-at-once lists, reading ahead after the first", async () => {
    const sizes = [4n * MiB, 6n * MiB, 8n * MiB];
    const vols: string[] = [];
    for (const [i, size] of sizes.entries()) vols.push(await volume(`slices-${i}`, size));
    const made: string[] = [];
    for (let i = 0; i < 24; i++) {
      const vol = vols[i % vols.length] as string;
      const res = await h.call("CreateSnapshot", createSnapshotRequest(`slices-snap-${i}`, vol));
      made.push(res.snapshot.snapshot_id);
    }
    const all = await everything();
    expect(all.entries.map((s) => s.snapshot_id)).toEqual([...made].sort());
    for (const s of all.entries) {
      expect(s.ready_to_use).toBe(true);
      expect(s.creation_time).not.toBeNull();
      expect(BigInt(s.size_bytes)).toBe(sizes[vols.indexOf(s.source_volume_id)]);
    }
    for (const max of [1, 2, 3, 5, 7, 24, 25]) {
      const pages = await walk(max);
      expect(
        pages.flatMap((p) => p.entries),
        `pages of ${max}`,
      ).toEqual(all.entries);
      // The first page reads about a page; what follows is read ahead (in the background, so a
      // line may land in either page's count), hundreds of snapshots a line: 24 snapshots take
      // one more line (two if the first slice held less than a page).
      expect(
        pages.reduce((n, p) => n + p.trips, 0),
        `pages of ${max}`,
      ).toBeLessThanOrEqual(3);
    }
    // One volume's snapshots, the same way.
    const mine = all.entries.filter((s) => s.source_volume_id === vols[1]);
    expect((await everything(vols[1])).entries).toEqual(mine);
    for (const max of [1, 3]) {
      const pages = await walk(max, vols[1]);
      expect(pages.flatMap((p) => p.entries)).toEqual(mine);
    }
    // A later page within the time a read's images are trusted sends nothing; past it, the page
    // names its own images, asking only for their paths and exact sizes (the creation times are
    // the subvolumes', read before).
    const first = await h.call("ListSnapshots", listSnapshotsRequest({ maxEntries: 5 }));
    await sleep(DESCRIBED_TTL_MS + 100);
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    const second = await h.call(
      "ListSnapshots",
      listSnapshotsRequest({ maxEntries: 5, token: first.next_token }),
    );
    const lines = (await h.sim.control.commands(since)).map((c) => c.line);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`/file print detail as-value proplist=name,size where (name="${h.sim.pool}/`);
    expect(second.entries.map((e: { snapshot: Listed }) => e.snapshot)).toEqual(all.entries.slice(5, 10));
  });

  it("a walk leaves out what this controller deleted since its read, and what others did once its images are read again", async () => {
    const vol = await volume("midwalk", 4n * MiB);
    await h.call("CreateSnapshot", createSnapshotRequest("midwalk-first", vol));
    await snapshotsOnHost([vol], 40, "midwalk");
    const ids = (await everything(vol)).entries.map((s) => s.snapshot_id);
    expect(ids).toHaveLength(41);
    const rest = async (token: string) => {
      const out: string[] = [];
      while (token !== "") {
        const page = await h.call(
          "ListSnapshots",
          listSnapshotsRequest({ maxEntries: 5, token, sourceVolumeId: vol }),
        );
        out.push(...page.entries.map((e: { snapshot: Listed }) => e.snapshot.snapshot_id));
        token = page.next_token;
      }
      return out;
    };
    const firstPage = () =>
      h.call("ListSnapshots", listSnapshotsRequest({ maxEntries: 5, sourceVolumeId: vol }));

    // Deleted through this controller between two pages: the pages read before are not used.
    let first = await firstPage();
    const second = await h.call(
      "ListSnapshots",
      listSnapshotsRequest({ maxEntries: 5, token: first.next_token, sourceVolumeId: vol }),
    );
    const gone = ids[20] as string;
    await h.call("DeleteSnapshot", { snapshot_id: gone, secrets: {} });
    const after = await rest(second.next_token);
    expect(after).toEqual(ids.slice(10).filter((id) => id !== gone));

    // Deleted on the RDS by someone else: listed at most while the read that saw it is trusted.
    first = await firstPage();
    const next = await h.call(
      "ListSnapshots",
      listSnapshotsRequest({ maxEntries: 5, token: first.next_token, sourceVolumeId: vol }),
    );
    const byHand = ids[30] as string;
    await run("btrfs", ["subvolume", "delete", `${h.sim.poolMountPath}/${ROOT}/snaps/${vol}/${byHand}`]);
    await h.sim.control.refresh();
    await sleep(DESCRIBED_TTL_MS + 100);
    expect(await rest(next.next_token)).toEqual(ids.slice(10).filter((id) => id !== gone && id !== byHand));
  });

  it("reads everything at once in bounded slices, naming at most 200 images a line", async () => {
    const vols = [await volume("many-0", 4n * MiB), await volume("many-1", 4n * MiB)];
    // The volumes' snapshot directories, made as CreateSnapshot makes them.
    for (const [i, vol] of vols.entries()) {
      await h.call("CreateSnapshot", createSnapshotRequest(`many-first-${i}`, vol));
    }
    const made = await snapshotsOnHost(vols, 450, "many");
    // Counted once (the first answer is sized by the count made before the 450 appeared).
    await everything();
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    const all = await everything();
    const lines = (await h.sim.control.commands(since)).map((c) => c.line);
    const ours = all.entries.filter((s) => vols.includes(s.source_volume_id));
    expect(ours).toHaveLength(452);
    expect(all.entries.map((s) => s.snapshot_id)).toEqual([...all.entries.map((s) => s.snapshot_id)].sort());
    expect(new Set(ours.map((s) => s.snapshot_id))).toEqual(
      new Set([...made, ...[0, 1].map((i) => snapshotIdFor(`many-first-${i}`))]),
    );
    for (const s of ours) expect([s.size_bytes, s.ready_to_use]).toEqual([String(4n * MiB), true]);
    // About one line per 200 snapshots, whatever the table holds; none names more than 200 images.
    const total = all.entries.length;
    expect(all.trips).toBeGreaterThanOrEqual(Math.ceil(total / 200) + 1);
    expect(all.trips).toBeLessThanOrEqual(Math.ceil(total / 200) + 4);
    for (const line of lines) expect(line.split('(name="').length - 1).toBeLessThanOrEqual(200);
    // The subvolumes too are read a slice of the id space at a time.
    const slices = lines.filter((l) => l.includes('name~"^snap-'));
    expect(slices.length).toBeGreaterThanOrEqual(2);
    // A walk in pages of 100, or of 300 (more images than a line names), lists the same.
    const pages = await walk(100);
    expect(pages.flatMap((p) => p.entries)).toEqual(all.entries);
    // About 500 snapshots a line after the first page: 452 take one more (two if a slice fell
    // short), and most pages send nothing.
    expect(pages.reduce((n, p) => n + p.trips, 0)).toBeLessThanOrEqual(3);
    expect(pages.filter((p) => p.trips === 0).length).toBeGreaterThanOrEqual(2);
    expect((await walk(300)).flatMap((p) => p.entries)).toEqual(all.entries);
  });
});
