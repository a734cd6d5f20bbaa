import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { WalkCache } from "../../src/csi/controller/walk-cache.js";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  Harness,
  listSnapshotsRequest,
  ROOT,
  snapshotSource,
  useHarness,
  volumeSource,
} from "./harness.js";

const MiB = 1024n * 1024n;
/** How long a walk uses what a read learnt of the images (WalkCache's `describedTtlMs`). */
const DESCRIBED_TTL_MS = new WalkCache().describedTtlMs;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const h = useHarness();

async function volume(name: string, size = 4n * MiB): Promise<string> {
  return (await h.call("CreateVolume", createVolumeRequest(name, { required: size }))).volume.volume_id;
}

async function snapshot(name: string, volumeId: string) {
  return (await h.call("CreateSnapshot", createSnapshotRequest(name, volumeId))).snapshot;
}

/** Test setup straight on the emulator (no SSH, no faults); it must work. */
async function setup(line: string): Promise<void> {
  expect((await h.sim.control.exec(line)).error, line).toBeNull();
}

const deleteSnapshotRequest = (id: string) => ({ snapshot_id: id, secrets: {} });

async function listAll(request = listSnapshotsRequest()) {
  const res = await h.call("ListSnapshots", request);
  return res.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot);
}

describe("CreateSnapshot", () => {
  it("takes a read-only snapshot whose details survive a controller restart", async () => {
    const vol = await volume("snap-src", 6n * MiB);
    const snap = await snapshot("snap-1", vol);
    expect(snap).toMatchObject({
      snapshot_id: snapshotIdFor("snap-1"),
      source_volume_id: vol,
      size_bytes: String(6n * MiB),
      ready_to_use: true,
    });
    expect(Number(snap.creation_time.seconds)).toBeGreaterThan(0);
    const sub = await h.client.getSubvolume(`${ROOT}/snaps/${vol}/${snap.snapshot_id}`, {
      fs: h.sim.fsLabel,
    });
    expect(sub?.readOnly).toBe(true);
    h.restart();
    expect(await snapshot("snap-1", vol)).toEqual(snap);
    expect(await listAll(listSnapshotsRequest({ snapshotId: snap.snapshot_id }))).toEqual([snap]);
  });

  it("same name and other source is ALREADY_EXISTS; missing source is NOT_FOUND; bad input is INVALID_ARGUMENT", async () => {
    const a = await volume("snap-conflict-a");
    const b = await volume("snap-conflict-b");
    await snapshot("snap-conflict", a);
    await h.expectCode("CreateSnapshot", createSnapshotRequest("snap-conflict", b), status.ALREADY_EXISTS);
    await h.expectCode(
      "CreateSnapshot",
      createSnapshotRequest("snap-orphan", volumeIdFor("nothing")),
      status.NOT_FOUND,
    );
    await h.expectCode("CreateSnapshot", createSnapshotRequest("snap-orphan", "testId"), status.NOT_FOUND);
    await h.expectCode("CreateSnapshot", createSnapshotRequest("", "testId"), status.INVALID_ARGUMENT);
    await h.expectCode("CreateSnapshot", createSnapshotRequest("name", ""), status.INVALID_ARGUMENT);
    const bad = { ...createSnapshotRequest("snap-param", a), parameters: { tier: "gold" } };
    expect(await h.expectCode("CreateSnapshot", bad, status.INVALID_ARGUMENT)).toContain("tier");
    const long = `Snap-${"x".repeat(123)}`;
    const first = await snapshot(long, a);
    expect(await snapshot(long, a)).toEqual(first);
  });

  it("answers RESOURCE_EXHAUSTED when the pool is full, and at the per-volume limit", async () => {
    const vol = await volume("snap-limited");
    await h.sim.control.poolFull(true);
    try {
      await h.expectCode(
        "CreateSnapshot",
        createSnapshotRequest("snap-nospace", vol),
        status.RESOURCE_EXHAUSTED,
      );
    } finally {
      await h.sim.control.poolFull(false);
    }
    const limited = new Harness(h.sim, { maxSnapshotsPerVolume: 2 });
    try {
      await limited.call("CreateSnapshot", createSnapshotRequest("snap-limit-1", vol));
      await limited.call("CreateSnapshot", createSnapshotRequest("snap-limit-2", vol));
      const message = await limited.expectCode(
        "CreateSnapshot",
        createSnapshotRequest("snap-limit-3", vol),
        status.RESOURCE_EXHAUSTED,
      );
      expect(message).toMatch(/already has 2 snapshots.*max-snapshots-per-volume/);
      // Repeating an existing snapshot is not a new one.
      await limited.call("CreateSnapshot", createSnapshotRequest("snap-limit-2", vol));
    } finally {
      limited.close();
    }
  });

  it("runs concurrently: different snapshots of one volume all succeed, the same snapshot twice is ABORTED", async () => {
    const [a, b] = await Promise.all([volume("conc-a"), volume("conc-b")]);
    const names = ["conc-1", "conc-2", "conc-3", "conc-4"];
    const results = await Promise.allSettled([
      ...names.map((n) => h.call("CreateSnapshot", createSnapshotRequest(n, a))),
      h.call("CreateSnapshot", createSnapshotRequest("conc-other", b)),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill("fulfilled"));
    const ofA = await listAll(listSnapshotsRequest({ sourceVolumeId: a }));
    expect(ofA.map((s: { snapshot_id: string }) => s.snapshot_id).sort()).toEqual(
      names.map(snapshotIdFor).sort(),
    );

    const [one, two] = await Promise.all([
      h.outcome("CreateSnapshot", createSnapshotRequest("conc-same", a)),
      h.outcome("CreateSnapshot", createSnapshotRequest("conc-same", a)),
    ]);
    expect([one.code, two.code].sort()).toEqual([status.OK, status.ABORTED]);
    await snapshot("conc-same", a);
  });
});

describe("DeleteSnapshot", () => {
  it("is idempotent, ignores ids that are not ours and never touches the source volume", async () => {
    const vol = await volume("del-src");
    const snap = await snapshot("del-snap", vol);
    await h.call("DeleteSnapshot", deleteSnapshotRequest(snap.snapshot_id));
    await h.call("DeleteSnapshot", deleteSnapshotRequest(snap.snapshot_id));
    await h.call("DeleteSnapshot", deleteSnapshotRequest("reallyfakesnapshotid"));
    await h.expectCode("DeleteSnapshot", deleteSnapshotRequest(""), status.INVALID_ARGUMENT);
    expect(
      await h.client.getSubvolume(`${ROOT}/snaps/${vol}/${snap.snapshot_id}`, { fs: h.sim.fsLabel }),
    ).toBeNull();
    expect((await h.client.getDisk(vol))?.fileSize).toBe(4n * MiB);
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${vol}`)).toMatchObject({
      type: "directory",
    });
  });

  it("snapshots outlive their volume; the last one takes the volume's snapshot directory with it", async () => {
    const vol = await volume("outlived");
    const s1 = await snapshot("outlived-1", vol);
    const s2 = await snapshot("outlived-2", vol);
    await h.call("DeleteVolume", { volume_id: vol, secrets: {} });
    h.restart();
    const listed = await listAll(listSnapshotsRequest({ sourceVolumeId: vol }));
    expect(listed).toEqual([s1, s2].sort((x, y) => (x.snapshot_id < y.snapshot_id ? -1 : 1)));
    const restored = await h.call(
      "CreateVolume",
      createVolumeRequest("from-outlived", { source: snapshotSource(s1.snapshot_id) }),
    );
    expect(restored.volume.capacity_bytes).toBe(String(4n * MiB));
    await h.call("DeleteSnapshot", deleteSnapshotRequest(s1.snapshot_id));
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${vol}`)).not.toBeNull();
    await h.call("DeleteSnapshot", deleteSnapshotRequest(s2.snapshot_id));
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${vol}`)).toBeNull();
    expect((await h.client.getDisk(restored.volume.volume_id))?.fileSize).toBe(4n * MiB);
  });
});

describe("DeleteSnapshot where RouterOS will not remove directories", () => {
  it("still finishes: the empty directory is kept, the snapshot is gone", async () => {
    const vol = await volume("nodir-src");
    const snap = await snapshot("nodir-snap", vol);
    await h.call("DeleteVolume", { volume_id: vol, secrets: {} });
    await h.sim.control.setSettings({ file_remove_directory: "never" });
    try {
      // A CO retries until OK; this RouterOS may cost one retry, never a stuck delete.
      let outcome = await h.outcome("DeleteSnapshot", deleteSnapshotRequest(snap.snapshot_id));
      if (outcome.code !== status.OK)
        outcome = await h.outcome("DeleteSnapshot", deleteSnapshotRequest(snap.snapshot_id));
      expect(outcome.message).toBe("");
    } finally {
      await h.sim.control.setSettings({ file_remove_directory: "if-empty" });
    }
    expect(await listAll(listSnapshotsRequest({ snapshotId: snap.snapshot_id }))).toEqual([]);
    // Removable again: the next sweep tidies the directory it had to keep.
    await h.call("DeleteSnapshot", deleteSnapshotRequest(snap.snapshot_id));
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${vol}`)).toBeNull();
  });
});

describe("ListSnapshots", () => {
  it("pages with stateless tokens that survive a restart and deletions between pages", async () => {
    const vol = await volume("page-src");
    for (const n of ["page-1", "page-2", "page-3", "page-4", "page-5"]) await snapshot(n, vol);
    const all = await listAll();
    const ids = all.map((s: { snapshot_id: string }) => s.snapshot_id);
    expect(ids).toEqual([...ids].sort());
    expect(ids.length).toBeGreaterThanOrEqual(5);

    const first = await h.call("ListSnapshots", listSnapshotsRequest({ maxEntries: 2 }));
    expect(first.entries).toHaveLength(2);
    expect(first.next_token).not.toBe("");
    h.restart();
    // The last entry of the page disappears before the next page is asked for.
    await h.call("DeleteSnapshot", deleteSnapshotRequest(first.entries[1].snapshot.snapshot_id));
    const rest = await h.call("ListSnapshots", listSnapshotsRequest({ token: first.next_token }));
    expect(rest.next_token).toBe("");
    expect(rest.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id)).toEqual(
      ids.slice(2),
    );

    const seen: string[] = [];
    let token = "";
    do {
      const page = await h.call("ListSnapshots", listSnapshotsRequest({ maxEntries: 2, token }));
      seen.push(...page.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id));
      token = page.next_token;
    } while (token !== "");
    expect(seen).toEqual(ids.filter((id: string) => id !== first.entries[1].snapshot.snapshot_id));
  });

  it("filters by id and by source, lists only this driver's snapshots, and refuses foreign tokens", async () => {
    const vol = await volume("filter-src");
    const other = await volume("filter-other");
    const mine = await snapshot("filter-1", vol);
    await snapshot("filter-2", other);
    // Snapshots that are not the driver's, in and out of its directories.
    await setup(`/file add name="${h.sim.pool}/foreign" type=directory`);
    await setup(
      `/disk/btrfs/subvolume add fs=${h.sim.fsLabel} parent="${ROOT}/vols/${vol}" name="foreign/copy" read-only=yes`,
    );
    await setup(
      `/disk/btrfs/subvolume add fs=${h.sim.fsLabel} parent="${ROOT}/vols/${vol}" name="${ROOT}/snaps/${vol}/backup" read-only=yes`,
    );

    expect(await listAll(listSnapshotsRequest({ snapshotId: mine.snapshot_id }))).toEqual([mine]);
    expect(await listAll(listSnapshotsRequest({ sourceVolumeId: vol }))).toEqual([mine]);
    expect(
      await listAll(listSnapshotsRequest({ sourceVolumeId: vol, snapshotId: mine.snapshot_id })),
    ).toEqual([mine]);
    expect(
      await listAll(listSnapshotsRequest({ sourceVolumeId: other, snapshotId: mine.snapshot_id })),
    ).toEqual([]);
    expect(await listAll(listSnapshotsRequest({ snapshotId: "none-exist-id" }))).toEqual([]);
    expect(await listAll(listSnapshotsRequest({ snapshotId: snapshotIdFor("never-made") }))).toEqual([]);
    expect(await listAll(listSnapshotsRequest({ sourceVolumeId: volumeIdFor("never-made") }))).toEqual([]);
    expect(await listAll(listSnapshotsRequest({ sourceVolumeId: "fake-vol-id" }))).toEqual([]);
    for (const entry of await listAll()) {
      expect(entry.snapshot_id).toMatch(/^snap-/);
      expect(entry.source_volume_id).toMatch(/^pvc-/);
    }
    await h.expectCode("ListSnapshots", listSnapshotsRequest({ token: "invalid-token" }), status.ABORTED);
    await h.expectCode("ListSnapshots", listSnapshotsRequest({ maxEntries: -1 }), status.INVALID_ARGUMENT);
    await setup(`/disk/btrfs/subvolume remove [find where fullname="foreign/copy"]`);
    await setup(`/disk/btrfs/subvolume remove [find where fullname="${ROOT}/snaps/${vol}/backup"]`);
  });

  it("a walk's later pages cost at most one round trip; what others delete meanwhile is left out once read again, tokens still survive a restart", async () => {
    const vol = await volume("walk-src");
    for (const n of ["walk-1", "walk-2", "walk-3", "walk-4", "walk-5", "walk-6"]) await snapshot(n, vol);
    const request = (token = "") => listSnapshotsRequest({ sourceVolumeId: vol, maxEntries: 2, token });
    const ids = (page: Record<string, unknown>) =>
      (page.entries as Array<{ snapshot: { snapshot_id: string } }>).map((e) => e.snapshot.snapshot_id);
    const all = (await listAll(listSnapshotsRequest({ sourceVolumeId: vol }))).map(
      (s: { snapshot_id: string }) => s.snapshot_id,
    );
    expect(all).toHaveLength(6);

    let before = h.connection.roundTrips;
    const first = await h.call("ListSnapshots", request());
    expect(h.connection.roundTrips - before).toBe(1);
    expect(ids(first)).toEqual(all.slice(0, 2));
    // Someone else (a person, another controller) deletes the first snapshot of the next page.
    // What the first page read of the images is trusted for a short while only: past it, the
    // next page names its images again and leaves out the one that is gone.
    await setup(`/disk/btrfs/subvolume remove [find where name="${all[2]}"]`);
    await sleep(DESCRIBED_TTL_MS + 100);
    before = h.connection.roundTrips;
    const second = await h.call("ListSnapshots", request(first.next_token));
    expect(h.connection.roundTrips - before).toBe(1);
    expect(ids(second)).toEqual([all[3]]);
    // A restarted controller keeps nothing: the same token reads RouterOS again, same answer.
    h.restart();
    before = h.connection.roundTrips;
    const again = await h.call("ListSnapshots", request(first.next_token));
    // 1, and 1 more: a new client asks the RouterOS version once.
    expect(h.connection.roundTrips - before).toBe(2);
    expect(ids(again)).toEqual([all[3], all[4]]);
    // A snapshot this controller takes mid-walk clears what the walk kept: the next page reads
    // RouterOS again, still in one line.
    await snapshot("walk-7", vol);
    before = h.connection.roundTrips;
    const next = await h.call("ListSnapshots", request(again.next_token));
    expect(h.connection.roundTrips - before).toBe(1);
    const rest: string[] = ids(next);
    let token = next.next_token as string;
    while (token !== "") {
      const page = await h.call("ListSnapshots", request(token));
      rest.push(...ids(page));
      token = page.next_token;
    }
    const expected = [...all.filter((id: string) => id !== all[2]), snapshotIdFor("walk-7")]
      .sort()
      .filter((id: string) => id > (all[4] as string));
    expect(rest).toEqual(expected);
    // A new walk always reads RouterOS: it sees everything as it is now.
    const fresh = await listAll(listSnapshotsRequest({ sourceVolumeId: vol }));
    expect(fresh.map((s: { snapshot_id: string }) => s.snapshot_id)).toEqual(
      [...all.filter((id: string) => id !== all[2]), snapshotIdFor("walk-7")].sort(),
    );
  });

  it("lists a small table whole in a constant number of round trips", async () => {
    const count = async () => {
      const before = h.connection.roundTrips;
      const entries = await listAll();
      return { entries: entries.length, trips: h.connection.roundTrips - before };
    };
    const vol = await volume("trips-src");
    // A controller that never counted the table reads a guessed slice of it first: one line more.
    h.restart();
    const cold = await count();
    const small = await count();
    expect(cold.entries).toBe(small.entries);
    expect(cold.trips).toBe(small.trips + 2);
    for (const n of ["trips-1", "trips-2", "trips-3", "trips-4", "trips-5", "trips-6"])
      await snapshot(n, vol);
    const large = await count();
    expect(large.entries).toBe(small.entries + 6);
    expect(large.trips).toBe(small.trips);
    expect(large.trips).toBe(2);
  });
});

describe("round trips (the emulator's command log: one entry per exec)", () => {
  /** The exec lines `action` sends. */
  async function linesOf(action: () => Promise<unknown>): Promise<string[]> {
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    await action();
    return (await h.sim.control.commands(since)).map((c) => c.line);
  }

  it("CreateSnapshot takes 2, its retry 1, DeleteSnapshot 2 (4 with the orphaned directory)", async () => {
    const vol = await volume("rt-src");
    const request = createSnapshotRequest("rt-snap", vol);
    const created = await linesOf(() => h.call("CreateSnapshot", request));
    expect(created).toHaveLength(2);
    expect(created[1]).toMatch(/^\/disk\/btrfs\/subvolume add .* read-only=yes; /);
    expect(await linesOf(() => h.call("CreateSnapshot", request))).toHaveLength(1);
    const id = snapshotIdFor("rt-snap");
    expect(await linesOf(() => listAll(listSnapshotsRequest({ snapshotId: id })))).toHaveLength(2);
    expect(await linesOf(() => h.call("DeleteSnapshot", deleteSnapshotRequest(id)))).toHaveLength(2);

    await snapshot("rt-last", vol);
    await h.call("DeleteVolume", { volume_id: vol, secrets: {} });
    const last = await linesOf(() =>
      h.call("DeleteSnapshot", deleteSnapshotRequest(snapshotIdFor("rt-last"))),
    );
    // The remove and the volume's existence; the volume is gone, so its remaining snapshots; the prune.
    expect(last).toHaveLength(4);
    expect(last[1]).not.toContain("fullname~");
    expect(last[2]).toContain(`fullname~"^/\\?${ROOT}/snaps/${vol}/"`);
    expect(last[3]).toMatch(/^\/file remove /);
  });

  it("volumes: create 2, delete 4, restore 3 and 4 to grow, clone 3, a retry 2", async () => {
    const created = await linesOf(() => volume("rt-vol"));
    // The look-up, then the subvolume with its read-back and the snapshot directory, in one line;
    // the disk.
    expect(created).toHaveLength(2);
    expect(created[0]).toMatch(
      /^:put .*\/disk print .*; \/disk\/btrfs\/subvolume add .*; \/file add name="[^"]+" type=directory$/,
    );
    expect(created[1]).toMatch(/^\/disk add /);
    expect(await linesOf(() => volume("rt-vol"))).toHaveLength(2);
    const snap = await snapshot("rt-vol-snap", volumeIdFor("rt-vol"));
    const restore = (name: string, size: bigint) =>
      linesOf(() =>
        h.call(
          "CreateVolume",
          createVolumeRequest(name, { required: size, source: snapshotSource(snap.snapshot_id) }),
        ),
      );
    const restored = await restore("rt-restored", 4n * MiB);
    expect(restored).toHaveLength(3);
    // The look-up finds the snapshot and the pool's free space with the new volume and its marks.
    expect(restored[0]).toContain(`(name="${snap.snapshot_id}")`);
    expect(restored[0]).toContain('mount-point="');
    expect(await restore("rt-grown", 8n * MiB)).toHaveLength(4);
    const cloned = await linesOf(() =>
      h.call(
        "CreateVolume",
        createVolumeRequest("rt-clone", { required: 4n * MiB, source: volumeSource(volumeIdFor("rt-vol")) }),
      ),
    );
    expect(cloned).toHaveLength(3);
    for (const name of ["rt-restored", "rt-grown", "rt-clone", "rt-vol"]) {
      const deleted = await linesOf(() =>
        h.call("DeleteVolume", { volume_id: volumeIdFor(name), secrets: {} }),
      );
      expect(deleted.length, name).toBeLessThanOrEqual(4);
    }
  });

  it("a ListSnapshots page asks only for what it reads, and sizes only its own images", async () => {
    const vol = await volume("rt-page-src");
    for (const n of ["rt-page-1", "rt-page-2", "rt-page-3"]) await snapshot(n, vol);
    const page = (token = "") =>
      h.call("ListSnapshots", listSnapshotsRequest({ sourceVolumeId: vol, maxEntries: 2, token }));
    const images = `name~"^${h.sim.pool}/${ROOT}/snaps/${vol}/snap-`;
    // A walk this controller never counted: the count, a guessed slice of the id space and its
    // images by a pattern over their paths in one line; more slices (with their images) until
    // there is a page.
    const unknown = await linesOf(() => page());
    expect(unknown.length).toBeGreaterThanOrEqual(1);
    expect(unknown[0]).toMatch(/^:put \[:len \[\/disk\/btrfs\/subvolume find where /);
    for (const line of unknown) {
      expect(line).toContain("/disk/btrfs/subvolume print detail as-value proplist=");
      expect(line).toContain(
        `/file print detail as-value proplist=name,type,size,last-modified where ${images}`,
      );
    }
    // Counted once, a first page is one line: the count, one slice and its images.
    let first: Record<string, string> | undefined;
    const sent = await linesOf(async () => {
      first = await page();
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^:put \[:len \[/);
    expect(sent[0]).toContain(images);
    // The last page, at once: what the first page read, images included; nothing is sent.
    let last: Record<string, unknown> | undefined;
    expect(
      await linesOf(async () => {
        last = await page(first?.next_token);
      }),
    ).toEqual([]);
    expect(last?.entries).toHaveLength(1);
    // Past the time a read's images are trusted: only its own image, by name.
    first = await page();
    await sleep(DESCRIBED_TTL_MS + 100);
    const rest = await linesOf(() => page(first?.next_token));
    expect(rest).toHaveLength(1);
    expect(rest[0]).toMatch(/^:put .*\/file print .* where name="[^"]+"\]\]$/);
  });
});
