import { readdir } from "node:fs/promises";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { KeyedLocks } from "../../src/csi/locks.js";
import { type SweepReport, TombstoneSweep } from "../../src/storage/index.js";
import type { SimCommandEntry } from "../helpers/sim.js";
import { controllerArgs, DriverProcess } from "../reliability/driver-process.js";
import { createSnapshotRequest, createVolumeRequest, ROOT, storageFor, useHarness } from "./harness.js";

/*
 * Commands that RouterOS runs after the driver gave up on them, and after the CO — having retried
 * to success — deleted what the retry made: a late CreateSnapshot or CreateVolume would re-create
 * it. Deletes leave a mark on the RDS, and the controller's sweep removes what reappears under a
 * marked name, then drops the mark once no late command can arrive any more (see
 * src/storage/tombstones.ts). The emulator's `delay` rule holds a command past the client's timeout
 * and then runs it; the hold is long enough that it runs after the retry and the delete.
 */

const MiB = 1024n * 1024n;
const SIZE = 4n * MiB;
const TIMEOUT_MS = 4000;
/** How long the emulator holds the command: far past the retry and the delete that follow. */
const LATE_MS = 15_000;

const locks = new KeyedLocks();
const h = useHarness({ commandTimeoutMs: TIMEOUT_MS, locks });

afterEach(async () => {
  await h.sim.control.clearFaults();
  await h.sim.control.setSettings({ auto_create_parent_dirs: false });
});

/** A sweep over the harness's RouterOS client, as the controller runs it, with this window. */
function sweep(windowMs: number): TombstoneSweep {
  return new TombstoneSweep({
    storage: storageFor(h.sim, h.client),
    locks,
    windowMs,
    logger: pino({ level: "silent" }),
  });
}

async function lastSeq(): Promise<number> {
  return (await h.sim.control.commands()).at(-1)?.seq ?? 0;
}

/** Waits until the held command matching `pattern` has run; returns its log entry. */
async function ranLate(pattern: RegExp, since: number): Promise<SimCommandEntry> {
  const until = Date.now() + LATE_MS + 30_000;
  while (Date.now() < until) {
    const entries = await h.sim.control.commands(since);
    const held = entries.find((e) => pattern.test(e.line) && e.fault === "delay");
    if (held !== undefined) return held;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no late command matching ${pattern} ran`);
}

/** The delete marks of `id` on the pool's filesystem. */
async function marksOf(id: string): Promise<string[]> {
  const dir = path.join(h.sim.poolMountPath, ROOT, "deleted");
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`${id}.`));
}

const snapshotPath = (volumeId: string, snapshotId: string) => `${ROOT}/snaps/${volumeId}/${snapshotId}`;
const subvolume = (fullname: string) => h.client.getSubvolume(fullname, { fs: h.sim.fsLabel });

async function newVolume(name: string): Promise<string> {
  return (await h.call("CreateVolume", createVolumeRequest(name, { required: SIZE }))).volume.volume_id;
}

/** A create whose command matching `match` RouterOS runs late; the CO retries it to success. */
async function createWithLateCommand<M extends "CreateVolume" | "CreateSnapshot">(
  method: M,
  request: Parameters<typeof h.call<M>>[1],
  match: string,
  // biome-ignore lint/suspicious/noExplicitAny: responses are read field by field, as in the harness.
): Promise<{ response: Record<string, any>; since: number }> {
  await h.sim.control.addFault({ match, action: "delay", ms: LATE_MS, times: 1 });
  const since = await lastSeq();
  const first = await h.outcome(method, request);
  expect(first.code, first.message).toBe(status.UNAVAILABLE);
  return { response: await h.call(method, request), since };
}

describe("what a command run late re-creates after the CO's delete", () => {
  it("a snapshot: the sweep removes it, then drops the mark once the window has passed", async () => {
    const source = await newVolume("late-del-snap-source");
    const request = createSnapshotRequest("late-del-snap", source);
    const { response, since } = await createWithLateCommand(
      "CreateSnapshot",
      request,
      "^/disk/btrfs/subvolume add .*read-only=yes",
    );
    const snapshotId = response.snapshot.snapshot_id as string;
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    const deletedAt = await lastSeq();
    expect(await marksOf(snapshotId)).toHaveLength(1);

    const late = await ranLate(/^\/disk\/btrfs\/subvolume add .*read-only=yes/, since);
    expect(late.seq, "the held command ran before the delete").toBeGreaterThan(deletedAt);
    const leaked = await subvolume(snapshotPath(source, snapshotId));
    expect(leaked?.readOnly, "the late command re-created the snapshot").toBe(true);

    // Within the window: removed, and the mark kept for a command that could still come.
    const within: SweepReport = await sweep(60_000).pass();
    expect(within.removed).toEqual([snapshotPath(source, snapshotId)]);
    expect(within.dropped).toBe(0);
    expect(await subvolume(snapshotPath(source, snapshotId))).toBeNull();
    expect(await marksOf(snapshotId)).toHaveLength(1);
    // After it: the mark goes; the source volume is untouched.
    const after = await sweep(0).pass();
    expect(after.removed).toEqual([]);
    expect(await marksOf(snapshotId)).toEqual([]);
    expect(await h.client.getDisk(source)).not.toBeNull();
  });

  it("an empty subvolume from a late `subvolume add`: removed", async () => {
    const request = createVolumeRequest("late-del-subvol", { required: SIZE });
    // The add travels after the look-up's reads, in CreateVolume's first line: that line is held.
    const { response, since } = await createWithLateCommand(
      "CreateVolume",
      request,
      '; /disk/btrfs/subvolume add fs="[^"]+" name="rds-csi/vols/',
    );
    const volumeId = response.volume.volume_id as string;
    await h.call("DeleteVolume", { volume_id: volumeId, secrets: {} });
    const deletedAt = await lastSeq();

    const late = await ranLate(/; \/disk\/btrfs\/subvolume add .*name="rds-csi\/vols\//, since);
    expect(late.seq, "the held command ran before the delete").toBeGreaterThan(deletedAt);
    expect(await subvolume(`${ROOT}/vols/${volumeId}`), "the late command left a subvolume").not.toBeNull();

    const report = await sweep(0).pass();
    expect(report.removed).toContain(`${ROOT}/vols/${volumeId}`);
    expect(await subvolume(`${ROOT}/vols/${volumeId}`)).toBeNull();
    expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${volumeId}`)).toBeNull();
    expect(await marksOf(volumeId)).toEqual([]);
  });

  // Whether `/disk add` makes missing parent directories is unknown: with them made, a late add
  // makes a new disk (fenced: exported to no host) after DeleteVolume said OK; without, it fails
  // and leaves nothing.
  it.each([true, false])(
    "a late `/disk add` (auto_create_parent_dirs=%s): no disk stays exported",
    async (auto) => {
      await h.sim.control.setSettings({ auto_create_parent_dirs: auto });
      const request = createVolumeRequest(`late-del-disk-${auto}`, { required: SIZE });
      const { response, since } = await createWithLateCommand("CreateVolume", request, "^/disk add ");
      const volumeId = response.volume.volume_id as string;
      await h.call("DeleteVolume", { volume_id: volumeId, secrets: {} });
      const deletedAt = await lastSeq();

      const late = await ranLate(/^\/disk add /, since);
      expect(late.seq, "the held command ran before the delete").toBeGreaterThan(deletedAt);
      const leaked = await h.client.getDisk(volumeId);
      // With export fencing the late add makes a disk exported to no host; the sweep removes it.
      if (auto) expect(leaked, "the late add made a disk").toMatchObject({ nvmeExport: false });
      else expect(leaked).toBeNull();

      const report = await sweep(0).pass();
      expect(report.kept).toEqual([]);
      expect(await h.client.getDisk(volumeId)).toBeNull();
      expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/vols/${volumeId}/disk.img`)).toBeNull();
      expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/vols/${volumeId}`)).toBeNull();
      expect(await h.client.getFile(`/${h.sim.pool}/${ROOT}/snaps/${volumeId}`)).toBeNull();
      expect(await marksOf(volumeId)).toEqual([]);
    },
  );
});

describe("what the sweep never touches", () => {
  it("a snapshot or volume made again under a deleted name", async () => {
    const source = await newVolume("recreate-source");
    const snapRequest = createSnapshotRequest("recreate-snap", source);
    const snapshotId = (await h.call("CreateSnapshot", snapRequest)).snapshot.snapshot_id as string;
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    await h.call("CreateSnapshot", snapRequest);
    expect(await marksOf(snapshotId), "the create cleared the marks").toEqual([]);

    const volumeRequest = createVolumeRequest("recreate-volume", { required: SIZE });
    const volumeId = (await h.call("CreateVolume", volumeRequest)).volume.volume_id as string;
    await h.call("DeleteVolume", { volume_id: volumeId, secrets: {} });
    expect(await marksOf(volumeId)).toHaveLength(1);
    await h.call("CreateVolume", volumeRequest);
    expect(await marksOf(volumeId)).toEqual([]);

    const report = await sweep(0).pass();
    expect(report.removed).toEqual([]);
    expect((await subvolume(snapshotPath(source, snapshotId)))?.readOnly).toBe(true);
    expect(await h.client.getDisk(volumeId)).not.toBeNull();
    expect(await subvolume(`${ROOT}/vols/${volumeId}`)).not.toBeNull();
  });

  it("a create of a deleted name after a late copy reappeared takes a new snapshot, not the copy", async () => {
    const source = await newVolume("recreate-late-source");
    const request = createSnapshotRequest("recreate-late-snap", source);
    const { response, since } = await createWithLateCommand(
      "CreateSnapshot",
      request,
      "^/disk/btrfs/subvolume add .*read-only=yes",
    );
    const snapshotId = response.snapshot.snapshot_id as string;
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    await ranLate(/^\/disk\/btrfs\/subvolume add .*read-only=yes/, since);
    const copy = await subvolume(snapshotPath(source, snapshotId));
    expect(copy).not.toBeNull();

    // The CO asks for the name again (a new VolumeSnapshot of the same name): the late copy holds
    // the volume as it was before this request, so it is replaced.
    await h.call("CreateSnapshot", request);
    const taken = await subvolume(snapshotPath(source, snapshotId));
    expect(taken?.readOnly).toBe(true);
    expect(taken?.uuid).not.toBe(copy?.uuid);
    expect(await marksOf(snapshotId)).toEqual([]);
    expect((await sweep(0).pass()).removed).toEqual([]);
    expect((await subvolume(snapshotPath(source, snapshotId)))?.uuid).toBe(taken?.uuid);
  });

  it("a snapshot made again before a delete's own mark arrived late", async () => {
    const source = await newVolume("late-mark-source");
    const request = createSnapshotRequest("late-mark-snap", source);
    const snapshotId = (await h.call("CreateSnapshot", request)).snapshot.snapshot_id as string;
    // The delete's first line (the mark with the snapshot's lookup) runs only after the CO retried
    // the delete to success and created the name again.
    await h.sim.control.addFault({
      match: `^/file add name=".*/deleted/${snapshotId}\\.`,
      action: "delay",
      ms: LATE_MS,
      times: 1,
    });
    const since = await lastSeq();
    const first = await h.outcome("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    expect(first.code, first.message).toBe(status.UNAVAILABLE);
    await h.call("DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
    await h.call("CreateSnapshot", request);
    const made = await subvolume(snapshotPath(source, snapshotId));
    expect(made?.readOnly).toBe(true);
    await ranLate(new RegExp(`^/file add name=".*/deleted/${snapshotId}\\.`), since);
    expect(await marksOf(snapshotId), "the late mark arrived after the create").toHaveLength(1);

    const report = await sweep(0).pass();
    expect(report.removed).toEqual([]);
    expect(report.kept).toEqual([snapshotPath(source, snapshotId)]);
    expect((await subvolume(snapshotPath(source, snapshotId)))?.uuid).toBe(made?.uuid);
    expect(await marksOf(snapshotId)).toEqual([]);
  });

  it("a snapshot kept on the RDS (Retain) whose volume was deleted, and objects no late command makes", async () => {
    const source = await newVolume("retained-source");
    const retained = (await h.call("CreateSnapshot", createSnapshotRequest("retained-snap", source))).snapshot
      .snapshot_id as string;
    const before = await subvolume(snapshotPath(source, retained));
    await h.call("DeleteVolume", { volume_id: source, secrets: {} });

    // A volume deleted, then a disk of that name made by hand without an attempt token: not
    // what a late command of ours makes, so it is left alone even though the name is marked.
    const other = await newVolume("confirmed-after-delete");
    await h.call("DeleteVolume", { volume_id: other, secrets: {} });
    await h.client.createSubvolume({ fs: h.sim.fsLabel, fullname: `${ROOT}/vols/${other}` });
    await h.client.addFileDisk({
      slot: other,
      filePath: `/${h.sim.pool}/${ROOT}/vols/${other}/disk.img`,
      fileSize: SIZE,
      comment: "rds-csi v1",
    });

    const report = await sweep(0).pass();
    expect(report.removed).toEqual([]);
    expect(report.kept).toEqual([`/disk ${other}`]);
    expect((await subvolume(snapshotPath(source, retained)))?.uuid).toBe(before?.uuid);
    expect(await h.client.getDisk(other)).not.toBeNull();
    expect(await subvolume(`${ROOT}/vols/${other}`)).not.toBeNull();
    expect(await marksOf(source)).toEqual([]);
    expect(await marksOf(other)).toEqual([]);
  });
});

describe("what the sweep costs", () => {
  it("a few listings for many marks whose names stayed empty, whatever their number", async () => {
    const source = await newVolume("many-marks-source");
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      const snapshot = await h.call("CreateSnapshot", createSnapshotRequest(`many-marks-${i}`, source));
      ids.push(snapshot.snapshot.snapshot_id as string);
      await h.call("DeleteSnapshot", { snapshot_id: ids[i] as string, secrets: {} });
    }
    const since = await lastSeq();
    const report = await sweep(0).pass();
    const lines = (await h.sim.control.commands(since)).map((e) => e.line);
    expect(report.dropped).toBeGreaterThanOrEqual(ids.length);
    expect(report.removed).toEqual([]);
    // The listing of marks, two looks at the names (50 a line), one remove of the marks.
    expect(lines).toHaveLength(4);
    for (const id of ids) expect(await marksOf(id)).toEqual([]);
  });
});

describe("where the marks go", () => {
  // An RDS set up by a driver without marks has no `deleted` directory; whether RouterOS makes a
  // missing parent on `/file add` is unknown, so both ways.
  it.each([false, true])(
    "the first delete makes the marks directory when it is missing (auto_create_parent_dirs=%s)",
    async (auto) => {
      const volumeId = await newVolume(`no-marks-dir-${auto}`);
      const dir = `/${h.sim.pool}/${ROOT}/deleted`;
      const marks = await h.client.listFiles({ namePrefix: `${dir}/` });
      for (const mark of marks) await h.client.removeFile(`/${mark.name}`);
      // The driver makes its folders as subvolumes (a plain directory of an earlier version goes with /file remove).
      await h.client.removeSubvolume(`${ROOT}/deleted`, { fs: h.sim.fsLabel });
      await h.client.removeFile(dir);
      expect(await h.client.getFile(dir)).toBeNull();
      await h.sim.control.setSettings({ auto_create_parent_dirs: auto });

      await h.call("DeleteVolume", { volume_id: volumeId, secrets: {} });
      expect(await marksOf(volumeId)).toHaveLength(1);
      expect(await h.client.getDisk(volumeId)).toBeNull();
    },
  );
});

describe("a mark that cannot be written", () => {
  it("never blocks a delete on a full pool: deleting is how space is freed", async () => {
    const volumeId = await newVolume("full-pool-volume");
    await h.sim.control.setSettings({ pool_full: true });
    try {
      await h.call("DeleteVolume", { volume_id: volumeId, secrets: {} });
    } finally {
      await h.sim.control.setSettings({ pool_full: false });
    }
    expect(await h.client.getDisk(volumeId)).toBeNull();
    expect(await subvolume(`${ROOT}/vols/${volumeId}`)).toBeNull();
    expect(await marksOf(volumeId)).toEqual([]);
  });
});

describe("across a SIGKILL of the controller", () => {
  it("the next process finds the mark on the RDS and removes the late snapshot", {
    timeout: 240_000,
  }, async () => {
    const driver = new DriverProcess([
      ...controllerArgs(h.sim),
      "--rds-root",
      ROOT,
      "--rds-command-timeout",
      `${TIMEOUT_MS}ms`,
      "--late-command-window",
      "4s",
    ]);
    try {
      await driver.start();
      const source = await newVolume("killed-source");
      const request = createSnapshotRequest("killed-snap", source);
      await h.sim.control.addFault({
        match: "^/disk/btrfs/subvolume add .*read-only=yes",
        action: "delay",
        ms: LATE_MS,
        times: 1,
      });
      const since = await lastSeq();
      const first = await driver.attempt("Controller", "CreateSnapshot", request, 30_000);
      expect(first.code, first.message).toBe(status.UNAVAILABLE);
      const made = await driver.attempt("Controller", "CreateSnapshot", request);
      expect(made.code, made.message).toBe(status.OK);
      const snapshotId = (made.response?.snapshot as { snapshot_id?: string } | undefined)?.snapshot_id ?? "";
      const deleted = await driver.attempt("Controller", "DeleteSnapshot", {
        snapshot_id: snapshotId,
        secrets: {},
      });
      expect(deleted.code, deleted.message).toBe(status.OK);
      const deletedAt = await lastSeq();
      await driver.kill();

      const late = await ranLate(/^\/disk\/btrfs\/subvolume add .*read-only=yes/, since);
      expect(late.seq, "the held command ran before the delete").toBeGreaterThan(deletedAt);
      expect(
        await subvolume(snapshotPath(source, snapshotId)),
        "the late command re-created it",
      ).not.toBeNull();
      expect(await marksOf(snapshotId)).toHaveLength(1);

      // A new process knows nothing of the old one: only the mark on the RDS tells it.
      await driver.start();
      const until = Date.now() + 120_000;
      while (Date.now() < until) {
        const gone = (await subvolume(snapshotPath(source, snapshotId))) === null;
        if (gone && (await marksOf(snapshotId)).length === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await subvolume(snapshotPath(source, snapshotId))).toBeNull();
      expect(await marksOf(snapshotId)).toEqual([]);
      expect(await h.client.getDisk(source)).not.toBeNull();
    } finally {
      await driver.stop();
    }
  });
});
