import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startReconciler } from "../../src/reconcile/index.js";
import { startSim } from "../helpers/sim.js";
import { type FakeKube, persistentVolume, snapshotContent, startFakeKube } from "./fake-kube.js";
import { connect, DRIVER, type Env, HOUR, Scene, summary, withHook } from "./support.js";

let env: Env;
let scene: Scene;
let sceneCount = 0;

beforeAll(async () => {
  const [sim, kube] = await Promise.all([startSim(), startFakeKube()]);
  env = { sim, kube, ...connect(sim) };
});

afterAll(async () => {
  env?.connection.close();
  await Promise.allSettled([env?.sim.stop(), env?.kube.close()]);
});

beforeEach(() => {
  const { kube } = env;
  kube.persistentVolumes = [];
  kube.snapshotContents = [];
  kube.failures = [];
  kube.snapshotApiServed = true;
  kube.maxPageSize = 1_000;
  scene = new Scene(env, `r${++sceneCount}`);
});

afterEach(async () => {
  await scene.stop();
});

describe("judging", () => {
  it("reports orphans in dry-run (the default) and changes nothing", async () => {
    const live = await scene.volume("live");
    scene.pv(live);
    scene.vsc(await scene.snapshot("kept", live), live);
    const orphanSnapshot = await scene.snapshot("orphan", live);
    const orphanVolume = await scene.volume("orphan");
    const before = await scene.state();

    const reconciler = scene.reconciler({ gracePeriodMs: 60_000, passes: 2 });
    scene.clock.advance(2 * HOUR);
    expect(summary(await reconciler.runPass())).toEqual(
      [`orphaned-snapshot pending ${orphanSnapshot}`, `orphaned-volume pending ${orphanVolume}`].sort(),
    );
    const report = await reconciler.runPass();
    expect(report.dryRun).toBe(true);
    expect(summary(report)).toEqual(
      [
        `orphaned-snapshot would-remove ${orphanSnapshot}`,
        `orphaned-volume would-remove ${orphanVolume}`,
      ].sort(),
    );
    expect(report.findings.find((f) => f.id === orphanSnapshot)?.sourceVolumeId).toBe(live);
    expect(await scene.state()).toEqual(before);

    const counted = (await scene.metrics.reconcilerFindings.get()).values.map(
      (v) => `${v.labels.type} ${v.labels.action} ${v.value}`,
    );
    expect(counted.sort()).toEqual([
      "orphaned-snapshot pending 1",
      "orphaned-snapshot would-remove 1",
      "orphaned-volume pending 1",
      "orphaned-volume would-remove 1",
    ]);
    const logged = scene.log.lines.filter((l) => String(l.msg).startsWith("dry-run, would remove"));
    expect(logged.map((l) => l.id).sort()).toEqual([orphanSnapshot, orphanVolume].sort());
  });

  it("names the PV and claim an orphaned volume was made for, in the finding and the log", async () => {
    const pv = "pvc-6a0e54b1-3f0c-4d2e-9a77-0c1d2e3f4a5b";
    const orphan = await scene.volume("made-for", { pv, pvc: { namespace: "shop", name: "data-0" } });
    const unnamed = await scene.volume("unnamed");
    scene.pv(await scene.volume("live"));
    const reconciler = scene.reconciler({ gracePeriodMs: 60_000, passes: 1 });
    scene.clock.advance(2 * HOUR);
    const report = await reconciler.runPass();
    const finding = report.findings.find((f) => f.id === orphan);
    expect(finding?.madeFor).toBe(`PV ${pv} (PVC shop/data-0)`);
    expect(finding?.detail).toContain(`made for PV ${pv} (PVC shop/data-0)`);
    expect(report.findings.find((f) => f.id === unnamed)?.madeFor).toBeUndefined();
    const logged = scene.log.lines.find((l) => l.id === orphan && String(l.msg).startsWith("dry-run"));
    expect(logged?.madeFor).toBe(`PV ${pv} (PVC shop/data-0)`);
  });

  it("removes only true orphans, and only after the grace period and the consecutive passes", async () => {
    const live = await scene.volume("live");
    scene.pv(live);
    const liveSnapshot = await scene.snapshot("live-snap", live);
    scene.vsc(liveSnapshot, live);
    const orphanSnapshotOfLive = await scene.snapshot("orphan-snap", live);
    const orphan = await scene.volume("orphan");
    // The snapshot outlives its volume: the VolumeSnapshotContent still refers to it.
    const keptSnapshotOfOrphan = await scene.snapshot("kept-snap", orphan);
    scene.vsc(keptSnapshotOfOrphan, orphan);
    // A snapshot being taken of this volume has no handle yet: the volume must stay meanwhile.
    const beingSnapshotted = await scene.volume("being-snapshotted");
    env.kube.snapshotContents.push(
      snapshotContent("in-progress", DRIVER, { sourceVolumeHandle: beingSnapshotted }),
    );
    const before = await scene.state();

    // Young objects: any number of passes changes nothing.
    const young = scene.reconciler({ dryRun: false, gracePeriodMs: HOUR, passes: 3 });
    for (let i = 0; i < 4; i++) {
      const report = await young.runPass();
      expect(new Set(summary(report).map((s) => s.split(" ")[1]))).toEqual(new Set(["pending"]));
    }
    expect(await scene.state()).toEqual(before);

    // Old objects, judged by a reconciler with no memory yet: removed on the third pass only.
    const reconciler = scene.reconciler({ dryRun: false, gracePeriodMs: HOUR, passes: 3 });
    scene.clock.advance(2 * HOUR);
    for (let pass = 1; pass <= 2; pass++) {
      const report = await reconciler.runPass();
      expect(summary(report)).toEqual(
        [`orphaned-snapshot pending ${orphanSnapshotOfLive}`, `orphaned-volume pending ${orphan}`].sort(),
      );
      expect(report.findings.every((f) => f.passes === pass)).toBe(true);
    }
    expect(await scene.state()).toEqual(before);
    expect(summary(await reconciler.runPass())).toEqual(
      [`orphaned-snapshot removed ${orphanSnapshotOfLive}`, `orphaned-volume removed ${orphan}`].sort(),
    );

    const after = await scene.state();
    expect(after.disks.some((d) => d.startsWith(orphan))).toBe(false);
    expect(after.subvolumes).toEqual(
      [
        `${scene.root}/snaps/${live}/${liveSnapshot} ro`,
        `${scene.root}/snaps/${orphan}/${keptSnapshotOfOrphan} ro`,
        `${scene.root}/vols/${beingSnapshotted}`,
        `${scene.root}/vols/${live}`,
      ].sort(),
    );
    expect(after.disks.map((d) => d.split(" ")[0]).sort()).toEqual([beingSnapshotted, live].sort());
    expect(after.files).toContain(`snaps/${orphan}/${keptSnapshotOfOrphan}/disk.img`);
    const removals = scene.log.lines.filter((l) => String(l.msg).startsWith("removed:"));
    expect(removals.map((l) => l.id).sort()).toEqual([orphan, orphanSnapshotOfLive].sort());

    expect(summary(await reconciler.runPass())).toEqual([]);
    expect(await scene.state()).toEqual(after);
  });

  it("never touches objects without the driver's names or outside its layout", async () => {
    const { sim } = env;
    const pool = sim.pool;
    const root = scene.root;
    await scene.storage.directories.ensureBase({});
    const someVolume = scene.volumeId("shaped-like-ours");
    const readOnlyVolume = scene.volumeId("read-only");
    const crowded = scene.volumeId("crowded");
    const snapshotDirectory = scene.volumeId("snap-dir");
    const writableSnapshot = scene.snapshotId("writable");
    for (const line of [
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/vols/data"`,
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/vols/pvc-not-a-uuid"`,
      `/file add name="${pool}/elsewhere" type=directory`,
      `/file add name="${pool}/elsewhere/vols" type=directory`,
      `/disk/btrfs/subvolume add fs=${pool} name="elsewhere/vols/${someVolume}"`,
      // Our slot shape, someone else's file.
      `/disk add type=file slot=${someVolume} file-path="/${pool}/elsewhere/vols/${someVolume}/disk.img" file-size=8M`,
      `/disk add type=file slot=mydisk file-path="/${pool}/${root}/vols/mydisk.img" file-size=8M`,
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/vols/source"`,
      `/disk/btrfs/subvolume add fs=${pool} parent="${root}/vols/source" name="${root}/vols/${readOnlyVolume}" read-only=yes`,
      `/file add name="${pool}/${root}/vols/${crowded}" type=directory`,
      `/file add name="${pool}/${root}/vols/${crowded}/notes.txt" contents="keep me"`,
      `/file add name="${pool}/${root}/snaps/${snapshotDirectory}" type=directory`,
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/snaps/${snapshotDirectory}/${writableSnapshot}"`,
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/snaps/${snapshotDirectory}/not-a-snapshot"`,
    ]) {
      await scene.exec(line);
    }
    const live = await scene.volume("live");
    scene.pv(live);
    scene.vsc(await scene.snapshot("live", live), live);
    const before = await scene.state();
    const foreignBefore = await env.client.getDisk(someVolume);

    const reconciler = scene.reconciler({ dryRun: false, gracePeriodMs: 60_000, passes: 2 });
    scene.clock.advance(2 * HOUR);
    let report = await reconciler.runPass();
    for (let i = 0; i < 3; i++) {
      report = await reconciler.runPass();
      expect(summary(report)).toEqual([]);
    }
    expect(await scene.state()).toEqual(before);
    expect(await env.client.getDisk(someVolume)).toEqual(foreignBefore);
    expect(await env.client.getSubvolume(`elsewhere/vols/${someVolume}`, { fs: sim.fsLabel })).not.toBeNull();
    expect(report.unexplained).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`disk ${someVolume} uses /${pool}/elsewhere/`),
        expect.stringContaining(`${readOnlyVolume} is read-only`),
        expect.stringContaining(`${crowded}/notes.txt`),
        expect.stringContaining(`${writableSnapshot} is writable`),
        expect.stringContaining("not-a-snapshot"),
      ]),
    );
  });

  it("keeps a volume a PersistentVolume of any driver refers to", async () => {
    const claimed = await scene.volume("claimed");
    scene.pv(claimed, "another.csi.example.com");
    scene.pv(scene.volumeId("unrelated"));
    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    for (let i = 0; i < 3; i++) expect(summary(await reconciler.runPass())).toEqual([]);
    expect((await scene.state()).disks.map((d) => d.split(" ")[0])).toEqual([claimed]);
  });
});

describe("safety", () => {
  const failures: Array<[string, (kube: FakeKube) => void]> = [
    ["PersistentVolumes answer 500", (k) => k.failures.push({ resource: "persistentvolumes", status: 500 })],
    ["PersistentVolumes answer 403", (k) => k.failures.push({ resource: "persistentvolumes", status: 403 })],
    [
      "the second page of PersistentVolumes fails",
      (k) => {
        k.maxPageSize = 1;
        k.failures.push({ resource: "persistentvolumes", page: 1, status: 500 });
      },
    ],
    [
      "the continue token has expired",
      (k) => {
        k.maxPageSize = 1;
        k.failures.push({ resource: "persistentvolumes", page: 1, status: 410 });
      },
    ],
    [
      "a page is not JSON",
      (k) => k.failures.push({ resource: "persistentvolumes", body: "<html>proxy</html>" }),
    ],
    [
      "a page has no items",
      (k) => k.failures.push({ resource: "persistentvolumes", body: '{"kind":"Status"}' }),
    ],
    ["PersistentVolumes never answer", (k) => k.failures.push({ resource: "persistentvolumes", hang: true })],
    [
      "VolumeSnapshotContents answer 500",
      (k) => k.failures.push({ resource: "volumesnapshotcontents", status: 500 }),
    ],
  ];

  it.each(failures)("does nothing, and starts every count again, when %s", async (_, inject) => {
    const live = await scene.volume("live");
    scene.pv(live);
    scene.pv(scene.volumeId("second-page"));
    const orphan = await scene.volume("orphan");
    const before = await scene.state();
    const reconciler = scene.reconciler({ dryRun: false, passes: 2, kubernetesTimeoutMs: 1_000 });
    scene.clock.advance(2 * HOUR);

    expect(summary(await reconciler.runPass())).toEqual([`orphaned-volume pending ${orphan}`]);
    inject(env.kube);
    const failed = await reconciler.runPass();
    expect(failed.outcome).toBe("failed");
    expect(failed.error).toMatch(/could not list/);
    expect(failed.findings).toEqual([]);
    env.kube.failures = [];
    env.kube.maxPageSize = 1_000;
    const next = await reconciler.runPass();
    // The failed pass broke the count: seen once again, not removed.
    expect(summary(next)).toEqual([`orphaned-volume pending ${orphan}`]);
    expect(next.findings[0]?.passes).toBe(1);
    expect(await scene.state()).toEqual(before);
  });

  it("reads every page of a paged list", async () => {
    const volumes = [await scene.volume("a"), await scene.volume("b"), await scene.volume("c")];
    for (const v of volumes) scene.pv(v);
    env.kube.maxPageSize = 1;
    const requestsBefore = env.kube.requests.length;
    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    for (let i = 0; i < 3; i++) expect(summary(await reconciler.runPass())).toEqual([]);
    const pvRequests = env.kube.requests
      .slice(requestsBefore)
      .filter((r) => r.resource === "persistentvolumes");
    expect(pvRequests.filter((r) => r.continueToken !== null).length).toBeGreaterThanOrEqual(2 * 3);
    expect(pvRequests.every((r) => r.authorized)).toBe(true);
    expect((await scene.state()).disks).toHaveLength(3);
  });

  it("judges volumes but leaves snapshots alone when the cluster has no snapshot API", async () => {
    env.kube.snapshotApiServed = false;
    const live = await scene.volume("live");
    scene.pv(live);
    const snapshot = await scene.snapshot("unknown", live);
    const orphan = await scene.volume("orphan");
    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    await reconciler.runPass();
    expect(summary(await reconciler.runPass())).toEqual([`orphaned-volume removed ${orphan}`]);
    expect((await scene.state()).subvolumes).toEqual(
      [`${scene.root}/snaps/${live}/${snapshot} ro`, `${scene.root}/vols/${live}`].sort(),
    );
  });

  it("refuses to remove anything when the cluster lists none of the driver's objects", async () => {
    const volume = await scene.volume("maybe-live");
    const snapshot = await scene.snapshot("maybe-live", volume);
    // Only another driver's objects: a wrong --driver-name would look exactly like this.
    env.kube.persistentVolumes.push(persistentVolume("pv-other", "other.csi.example.com", "vol-1"));
    const before = await scene.state();
    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    await reconciler.runPass();
    const report = await reconciler.runPass();
    expect(summary(report)).toEqual(
      [`orphaned-snapshot refused ${snapshot}`, `orphaned-volume refused ${volume}`].sort(),
    );
    expect(report.findings.find((f) => f.type === "orphaned-volume")?.reason).toContain(
      `no PersistentVolume in the cluster names driver ${DRIVER}`,
    );
    expect(await scene.state()).toEqual(before);
  });

  it("leaves an object alone while a CSI operation holds its lock", async () => {
    scene.pv(await scene.volume("live"));
    const orphan = await scene.volume("orphan");
    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    await reconciler.runPass();
    let release = () => {};
    const held = scene.locks.withLock(orphan, () => new Promise<void>((resolve) => (release = resolve)));
    expect(summary(await reconciler.runPass())).toEqual([`orphaned-volume busy ${orphan}`]);
    expect((await scene.state()).disks.map((d) => d.split(" ")[0])).toContain(orphan);
    release();
    await held;
    expect(summary(await reconciler.runPass())).toEqual([`orphaned-volume removed ${orphan}`]);
  });

  const changes: Array<[string, (s: Scene, volumeId: string) => string[]]> = [
    // A CreateVolume finishing right after the listing: its /disk item appears.
    [
      "a /disk item appears",
      (s, id) => [`/disk add type=file slot=${id} file-path="/${s.volumeDir(id)}/disk.img" file-size=8M`],
    ],
    // A CreateVolume retry clearing the remains and starting over: another subvolume, same name.
    [
      "the subvolume is replaced",
      (s, id) => [
        `/disk/btrfs/subvolume remove [find where fullname="${s.root}/vols/${id}"]`,
        `/disk/btrfs/subvolume add fs=${env.sim.pool} name="${s.root}/vols/${id}"`,
      ],
    ],
  ];

  it.each(changes)(
    "keeps an object that changes between the listing and the removal: %s",
    async (_, change) => {
      scene.pv(await scene.volume("live"));
      const unfinished = scene.volumeId("unfinished");
      await scene.exec(
        `/disk/btrfs/subvolume add fs=${env.sim.pool} name="${scene.root}/vols/${unfinished}"`,
      );
      let armed = false;
      const rds = withHook(env.client, async (method, args) => {
        const prefix = (args[0] as { namePrefix?: string } | undefined)?.namePrefix ?? "";
        if (!armed || method !== "listFiles" || !prefix.endsWith("/snaps/")) return;
        armed = false;
        for (const line of change(scene, unfinished)) await scene.exec(line);
      });
      const reconciler = scene.reconciler({ rds, dryRun: false, passes: 2 });
      scene.clock.advance(2 * HOUR);
      expect(summary(await reconciler.runPass())).toEqual([`subvolume-without-disk pending ${unfinished}`]);
      armed = true;
      const report = await reconciler.runPass();
      expect(summary(report)).toEqual([`subvolume-without-disk changed ${unfinished}`]);
      expect((await scene.state()).subvolumes).toContain(`${scene.root}/vols/${unfinished}`);
    },
  );

  it("refuses settings that would remove things too eagerly", () => {
    const base = { ...baseOptions(), dryRun: false };
    expect(() => startReconciler({ ...base, gracePeriodMs: 1_000 })).toThrow(/grace period of at least 60s/);
    expect(() => startReconciler({ ...base, passes: 1 })).toThrow(/at least 2 passes/);
    // Reporting only is harmless at any setting.
    void startReconciler({ ...base, dryRun: true, gracePeriodMs: 0, passes: 1 }).stop();
  });
});

describe("leftovers of half-finished operations", () => {
  it("finishes or cleans each kind", async () => {
    const pool = env.sim.pool;
    const root = scene.root;
    const live = await scene.volume("live");
    scene.pv(live);
    scene.vsc(await scene.snapshot("live", live), live);

    // A /disk item whose image sits in a plain directory: no subvolume to snapshot.
    const diskOnly = scene.volumeId("disk-only");
    await scene.exec(`/file add name="${scene.volumeDir(diskOnly)}" type=directory`);
    await scene.exec(
      `/disk add type=file slot=${diskOnly} file-path="/${scene.volumeDir(diskOnly)}/disk.img" file-size=8M`,
    );
    // A delete cut short after /disk remove: the subvolume and its image stay.
    const subvolumeOnly = await scene.volume("subvolume-only");
    await scene.exec(`/disk remove [find where slot="${subvolumeOnly}"]`);
    // /disk remove keeps the file: an image left in a plain directory.
    const fileOnly = scene.volumeId("file-only");
    await scene.exec(`/file add name="${scene.volumeDir(fileOnly)}" type=directory`);
    await scene.exec(
      `/disk add type=file slot=${fileOnly} file-path="/${scene.volumeDir(fileOnly)}/disk.img" file-size=8M`,
    );
    await scene.exec(`/disk remove [find where slot="${fileOnly}"]`);
    // A volume's snapshot directory left after its last snapshot and the volume were deleted.
    const gone = scene.volumeId("gone");
    await scene.exec(`/file add name="${pool}/${root}/snaps/${gone}" type=directory`);
    const expected = [
      `disk-without-subvolume %s ${diskOnly}`,
      `empty-snapshot-directory %s ${gone}`,
      `file-without-disk %s ${fileOnly}`,
      `subvolume-without-disk %s ${subvolumeOnly}`,
    ].sort();

    const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
    scene.clock.advance(2 * HOUR);
    expect(summary(await reconciler.runPass())).toEqual(expected.map((e) => e.replace("%s", "pending")));
    // A /disk item has no creation time: its age counts from first sight, so time must pass.
    const second = await reconciler.runPass();
    expect(second.findings.find((f) => f.id === diskOnly)?.action).toBe("pending");
    scene.clock.advance(2 * HOUR);
    const third = await reconciler.runPass();
    expect(summary(third)).toEqual([`disk-without-subvolume removed ${diskOnly}`]);
    expect(summary(second).filter((s) => !s.includes(diskOnly))).toEqual(
      expected.filter((e) => !e.includes(diskOnly)).map((e) => e.replace("%s", "removed")),
    );

    const state = await scene.state();
    expect(state.disks.map((d) => d.split(" ")[0])).toEqual([live]);
    expect(state.files.filter((f) => !f.includes(live))).toEqual(["snaps/", "vols/"]);
    expect(summary(await reconciler.runPass())).toEqual([]);
  });
  it("says so when RouterOS keeps a directory it was asked to remove", async () => {
    const pool = env.sim.pool;
    await scene.storage.directories.ensureBase({});
    scene.pv(await scene.volume("live"));
    const fileOnly = scene.volumeId("file-only");
    await scene.exec(`/file add name="${scene.volumeDir(fileOnly)}" type=directory`);
    await scene.exec(
      `/disk add type=file slot=${fileOnly} file-path="/${scene.volumeDir(fileOnly)}/disk.img" file-size=8M`,
    );
    await scene.exec(`/disk remove [find where slot="${fileOnly}"]`);
    const gone = scene.volumeId("gone");
    await scene.exec(`/file add name="${pool}/${scene.root}/snaps/${gone}" type=directory`);
    const previous = (await env.sim.control.getSettings()).file_remove_directory;
    await env.sim.control.setSettings({ file_remove_directory: "never" });
    try {
      const reconciler = scene.reconciler({ dryRun: false, passes: 2 });
      scene.clock.advance(2 * HOUR);
      await reconciler.runPass();
      const report = await reconciler.runPass();
      expect(summary(report)).toEqual(
        [`empty-snapshot-directory failed ${gone}`, `file-without-disk failed ${fileOnly}`].sort(),
      );
      expect(report.findings.every((f) => f.reason !== undefined)).toBe(true);
      const files = (await scene.state()).files;
      expect(files).toContain(`snaps/${gone}/`);
      expect(files).toContain(`vols/${fileOnly}/`);
    } finally {
      await env.sim.control.setSettings({ file_remove_directory: previous });
    }
  });
});

describe("lifecycle", () => {
  it("starts nothing when the interval is 0", async () => {
    const kubeFactory = vi.fn(() => env.kube.kubeConfig());
    const requests = env.kube.requests.length;
    const commands = (await env.sim.control.commands()).length;
    const reconciler = startReconciler({ ...baseOptions(), kube: kubeFactory, intervalMs: 0 });
    const report = await reconciler.runPass();
    expect(report.outcome).toBe("disabled");
    await reconciler.stop();
    expect(kubeFactory).not.toHaveBeenCalled();
    expect(env.kube.requests.length).toBe(requests);
    expect((await env.sim.control.commands()).length).toBe(commands);
  });

  it("runs on its interval with the default kubeconfig until stopped", async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = env.kube.kubeconfigPath;
    try {
      const pvLists = () =>
        env.kube.requests.filter((r) => r.resource === "persistentvolumes" && r.authorized);
      const before = pvLists().length;
      const { kube: _, ...options } = baseOptions();
      const reconciler = startReconciler({ ...options, intervalMs: 50 });
      await vi.waitFor(() => expect(pvLists().length).toBeGreaterThanOrEqual(before + 2), {
        timeout: 30_000,
        interval: 50,
      });
      await reconciler.stop();
      const after = pvLists().length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pvLists().length).toBe(after);
      expect((await reconciler.runPass()).outcome).toBe("stopped");
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

function baseOptions() {
  return {
    storage: scene.storage,
    kube: () => env.kube.kubeConfig(),
    driverName: DRIVER,
    intervalMs: HOUR,
    gracePeriodMs: 60_000,
    passes: 2,
    locks: scene.locks,
    logger: scene.log.logger,
  };
}

describe("census for the metrics gauges", () => {
  it("counts the volume and snapshot subvolumes of the layout, and nothing else", async () => {
    const { pool } = env.sim;
    const root = scene.root;
    const counted = await scene.volume("census-a");
    await scene.volume("census-b");
    await scene.snapshot("census-1", counted);
    await scene.snapshot("census-2", counted);
    for (const line of [
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/vols/data"`,
      `/disk/btrfs/subvolume add fs=${pool} name="${root}/snaps/${counted}/not-a-snapshot"`,
    ]) {
      await scene.exec(line);
    }
    const census = await scene.storage.census({});
    expect({ volumes: census.volumes, snapshots: census.snapshots }).toEqual({ volumes: 2, snapshots: 2 });
    expect(census.freeBytes).toBeGreaterThan(0n);
  });
});
