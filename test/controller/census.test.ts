/**
 * The metrics census (`Storage.census`) against the emulator over real SSH: RouterOS counts the
 * driver's volumes and snapshots — one exec line of counts, nothing listed — with exactly the
 * meaning of the listing it replaced (`Layout.parseVolumeSubvolume` / `parseSnapshotSubvolume`
 * over every subvolume under the root), under every emulator setting that changes how
 * subvolumes are printed or matched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RdsClient, RdsConnection } from "../../src/rds/index.js";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import { simConnectionOptions } from "../helpers/sim-connection.js";
import { createSnapshotRequest, createVolumeRequest, ROOT, storageFor, useHarness } from "./harness.js";

const h = useHarness();

/**
 * The settings that change how subvolumes print or match, each value against the defaults, and
 * the client's listing forms (the pool's free space is read with a listing in that form).
 */
const CASES: ReadonlyArray<{ settings: Record<string, unknown>; form?: "json" | "as-value" | "detail" }> = [
  { settings: {} },
  { settings: { subvolume_fullname_form: "leading-slash" } },
  { settings: { subvolume_fs_form: "uuid" } },
  { settings: { subvolume_fullname_form: "leading-slash", subvolume_fs_form: "uuid" } },
  { settings: { subvolume_fullname_form: "leading-slash" }, form: "detail" },
  { settings: { subvolume_fs_form: "uuid" }, form: "as-value" },
  { settings: { json_integer_form: "integer", put_wrap: false, empty_print_legend: false } },
  {
    settings: {
      subvolume_parent_format: "fullname",
      creation_time_format: "routeros",
      proplist_keeps_id: false,
    },
    form: "detail",
  },
];

let defaults: Record<string, unknown>;
const connections: RdsConnection[] = [];

beforeAll(async () => {
  defaults = await h.sim.control.getSettings();
});
afterAll(async () => {
  for (const c of connections) c.close();
  await h.sim.control.setSettings(defaults);
});

/** A storage layer over a new connection and client, so the listing form is asked again. */
function freshStorage(form: "json" | "as-value" | "detail" | undefined) {
  const connection = new RdsConnection(simConnectionOptions(h.sim));
  connections.push(connection);
  const client = new RdsClient(connection, form ? { listingForm: form } : {});
  return { connection, client, storage: storageFor(h.sim, client) };
}

describe("census", () => {
  it("counts the driver's volumes and snapshots in one line of counts, under every print setting", async () => {
    const a = (await h.call("CreateVolume", createVolumeRequest("census-a", { required: 4n << 20n }))).volume
      .volume_id as string;
    const b = (await h.call("CreateVolume", createVolumeRequest("census-b", { required: 4n << 20n }))).volume
      .volume_id as string;
    for (const [name, source] of [
      ["census-1", a],
      ["census-2", a],
      ["census-3", b],
    ] as const) {
      await h.call("CreateSnapshot", createSnapshotRequest(name, source));
    }
    // Subvolumes under the root that are neither: a stray folder, a snapshot-shaped name one
    // level too high and one too deep, ids of the wrong kind, and an id with upper-case digits.
    const label = h.sim.fsLabel;
    const stray = volumeIdFor("census-stray");
    const decoys = [
      `${ROOT}/vols/data`,
      `${ROOT}/vols/${snapshotIdFor("census-wrong-kind")}`,
      `${ROOT}/vols/${stray.toUpperCase().replace("PVC-", "pvc-")}`,
      `${ROOT}/snaps/${stray}`,
      `${ROOT}/snaps/${stray}/${volumeIdFor("census-x")}`,
      `${ROOT}/snaps/${stray}/not-a-snapshot`,
      `${ROOT}/snaps/${stray}/${snapshotIdFor("census-deep")}`,
      `${ROOT}/snaps/${stray}/${snapshotIdFor("census-deep")}/inner`,
      `${ROOT}-other`,
      `${ROOT}-other/vols`,
      `${ROOT}-other/vols/${volumeIdFor("census-elsewhere")}`,
    ];
    for (const name of decoys) {
      const r = await h.sim.control.exec(`/disk/btrfs/subvolume add fs=${label} name="${name}"`);
      expect(r.error, name).toBeNull();
    }
    // One snapshot-shaped decoy is a real snapshot of ours by shape: a person's copy counts, as before.
    const expected = { volumes: 2, snapshots: 4 };

    for (const { settings, form } of CASES) {
      await h.sim.control.setSettings({ ...defaults, ...settings });
      const { connection, client, storage } = freshStorage(form);
      if (form === undefined) await client.routerOsVersion();
      const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
      const trips = connection.roundTrips;
      const census = await storage.census({});
      const what = `${JSON.stringify(settings)} ${form ?? "auto"}`;
      expect(connection.roundTrips - trips, what).toBe(1);
      expect({ volumes: census.volumes, snapshots: census.snapshots }, what).toEqual(expected);
      expect(census.freeBytes, what).toBe(await storage.poolFreeBytes({}));

      // It counted and listed no subvolume.
      const [line] = (await h.sim.control.commands(since)).map((e) => e.line);
      expect(line, what).toMatch(/^:put \[:len \[\/disk\/btrfs\/subvolume find where /);
      expect(line?.match(/:len \[\/disk\/btrfs\/subvolume find/g), what).toHaveLength(2);
      expect(line, what).not.toMatch(/subvolume print/);

      // The same meaning as the listing it replaced: every subvolume under the root, parsed.
      const listed = await client.listSubvolumes({ fullnamePrefix: `${ROOT}/`, fs: label });
      expect(listed.filter((s) => storage.layout.parseVolumeSubvolume(s.fullname)).length, what).toBe(
        census.volumes,
      );
      expect(listed.filter((s) => storage.layout.parseSnapshotSubvolume(s.fullname)).length, what).toBe(
        census.snapshots,
      );
    }
  });
});
