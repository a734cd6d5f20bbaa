import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RdsClient } from "../../../src/rds/client.js";
import type { RdsConnection } from "../../../src/rds/connection.js";
import { query, SUBVOLUME_PROPLIST } from "../../../src/rds/queries.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections, MiB } from "./support.js";

let sim: SimFixture;
const connections = new Connections(() => sim);

beforeAll(async () => {
  sim = await startSim({ size: "1G" });
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
});

/** Round trips `fn` costs on `connection`. */
async function roundTrips(connection: RdsConnection, fn: () => Promise<unknown>): Promise<number> {
  const before = connection.roundTrips;
  await fn();
  return connection.roundTrips - before;
}

// `variant` names the case; detail output is also read wrapped at RouterOS's default 80 columns
// (no width in the login name) and at 60.
describe.each([
  { variant: "json", form: "json", loginOptions: "cet512w" },
  { variant: "detail", form: "detail", loginOptions: "cet512w" },
  { variant: "detail80", form: "detail", loginOptions: "" },
  { variant: "detail60", form: "detail", loginOptions: "ct60w" },
  { variant: "asvalue", form: "as-value", loginOptions: "cet512w" },
] as const)(
  "typed operations with $variant listings",
  ({ variant: form, form: listingForm, loginOptions }) => {
    let client: RdsClient;
    let connection: RdsConnection;
    const root = `csi-${form}`;
    const slot = (n: number) => `pvc-${form}-${n}`;
    const diskPath = (n: number) => `/${sim.pool}/${root}/vols/${slot(n)}/disk.img`;

    beforeAll(async () => {
      ({ client, connection } = connections.client({ listingForm }, { loginOptions }));
      await client.addDirectory(`${sim.pool}/${root}`);
      await client.addDirectory(`${sim.pool}/${root}/vols`);
      await client.addDirectory(`${sim.pool}/${root}/snaps`);
    });

    it("reads the RouterOS version and the pool's capacity", async () => {
      const version = await client.routerOsVersion();
      expect(version.text.startsWith((await sim.control.health()).routerosVersion)).toBe(true);
      const capacity = await client.poolCapacity(sim.pool);
      expect(capacity.size).toBeGreaterThan(900n * MiB);
      expect(capacity.free).toBeLessThanOrEqual(capacity.size);
      expect(capacity.free).toBeGreaterThan(0n);
    });

    it("creates, exports, grows, snapshots and removes a volume", async () => {
      const vol = await client.createSubvolume({ fs: sim.fsLabel, fullname: `${root}/vols/${slot(1)}` });
      expect(vol).toMatchObject({
        fullname: `${root}/vols/${slot(1)}`,
        name: slot(1),
        readOnly: false,
        snapshot: false,
      });
      expect(vol.creationTime).toBeInstanceOf(Date);

      const nqn = `nqn.2000-02.com.mikrotik:${slot(1)}`;
      const disk = await client.addFileDisk({
        slot: slot(1),
        filePath: diskPath(1),
        fileSize: 10n * MiB + 1n,
        nvme: { port: 4420, nqn },
        comment: `volume ${slot(1)}`,
      });
      expect(disk).toMatchObject({
        slot: slot(1),
        type: "file",
        filePath: diskPath(1),
        fileSize: 11n * MiB,
        size: 11n * MiB,
        nvmeExport: true,
        nvmePort: 4420,
        nqn,
        disabled: false,
        comment: `volume ${slot(1)}`,
      });
      expect((await client.getFile(diskPath(1)))?.size).toBe(11n * MiB);

      // 5 GiB is printed as 5.0GiB in detail: the exact size must still come back.
      const grown = await client.setDiskFileSize(slot(1), 5n * 1024n * MiB);
      expect(grown.fileSize).toBe(5n * 1024n * MiB);
      expect((await client.getFile(diskPath(1)))?.size).toBe(5n * 1024n * MiB);

      const snap = await client.snapshotSubvolume({
        fs: sim.fsLabel,
        source: `${root}/vols/${slot(1)}`,
        target: `${root}/snaps/snap-${form}-1`,
        readOnly: true,
      });
      expect(snap).toMatchObject({
        readOnly: true,
        snapshot: true,
        fullname: `${root}/snaps/snap-${form}-1`,
      });
      expect(snap.parent).not.toBeNull();
      const clone = await client.snapshotSubvolume({
        fs: sim.fsLabel,
        source: `${root}/snaps/snap-${form}-1`,
        target: `${root}/vols/${slot(2)}`,
        readOnly: false,
      });
      expect(clone).toMatchObject({ readOnly: false, snapshot: true });
      expect((await client.getFile(`${sim.pool}/${root}/vols/${slot(2)}/disk.img`))?.size).toBe(
        5n * 1024n * MiB,
      );

      const subvolumes = await client.listSubvolumes({ fullnamePrefix: `${root}/` });
      expect(subvolumes.map((s) => [s.fullname, s.readOnly]).sort()).toEqual([
        [`${root}/snaps/snap-${form}-1`, true],
        [`${root}/vols/${slot(1)}`, false],
        [`${root}/vols/${slot(2)}`, false],
      ]);
      // With a proplist too (what ListSnapshots asks for): every record comes back apart.
      const [narrow] = await client.read([
        query.subvolumes({ fullnamePrefix: `${root}/`, fs: sim.fsLabel, proplist: SUBVOLUME_PROPLIST }),
      ]);
      expect(narrow.map((s) => [s.fullname, s.readOnly]).sort()).toEqual([
        [`${root}/snaps/snap-${form}-1`, true],
        [`${root}/vols/${slot(1)}`, false],
        [`${root}/vols/${slot(2)}`, false],
      ]);
      const files = await client.listFiles({ namePrefix: `${sim.pool}/${root}/vols/` });
      expect(files.map((f) => f.name)).toContain(`${sim.pool}/${root}/vols/${slot(1)}/disk.img`);
      expect(files.map((f) => f.name)).toContain(`${sim.pool}/${root}/vols/${slot(2)}/disk.img`);

      await client.removeDisk(slot(1));
      await client.removeDisk(slot(1));
      expect(await client.getDisk(slot(1))).toBeNull();
      // /disk remove keeps the backing file.
      expect(await client.getFile(diskPath(1))).not.toBeNull();
      await client.removeFile(diskPath(1));
      expect(await client.getFile(diskPath(1))).toBeNull();
      await client.removeSubvolume(`${root}/vols/${slot(1)}`, { fs: sim.fsLabel });
      await client.removeSubvolume(`${root}/vols/${slot(1)}`);
      expect(await client.getSubvolume(`${root}/vols/${slot(1)}`)).toBeNull();
      // The snapshot and the clone do not depend on the deleted volume.
      expect(await client.getSubvolume(`${root}/snaps/snap-${form}-1`)).not.toBeNull();
      expect(await client.getSubvolume(`${root}/vols/${slot(2)}`)).not.toBeNull();
    });

    it("reports RouterOS refusals as typed errors", async () => {
      await client.createSubvolume({ fs: sim.fsLabel, fullname: `${root}/vols/${slot(3)}` });
      await client.addFileDisk({ slot: slot(3), filePath: diskPath(3), fileSize: 4n * MiB });
      await expect(
        client.addFileDisk({ slot: slot(3), filePath: diskPath(3), fileSize: 4n * MiB }),
      ).rejects.toMatchObject({
        kind: "already-exists",
      });
      await expect(
        client.createSubvolume({ fs: sim.fsLabel, fullname: `${root}/vols/${slot(3)}` }),
      ).rejects.toMatchObject({ kind: "already-exists" });
      await expect(client.setDiskFileSize(slot(3), 1n * MiB)).rejects.toMatchObject({
        kind: "invalid-input",
      });
      await expect(
        client.addFileDisk({
          slot: slot(4),
          filePath: `/${sim.pool}/${root}/missing/disk.img`,
          fileSize: MiB,
        }),
      ).rejects.toMatchObject({ kind: "not-found" });
      await expect(client.setDiskFileSize(slot(99), 8n * MiB)).rejects.toMatchObject({ kind: "not-found" });
      await sim.control.poolFull(true);
      try {
        await expect(
          client.createSubvolume({ fs: sim.fsLabel, fullname: `${root}/vols/${slot(5)}` }),
        ).rejects.toMatchObject({ kind: "no-space" });
      } finally {
        await sim.control.poolFull(false);
      }
    });

    it("lists in a constant number of round trips, whatever the number of items", async () => {
      const prefix = `pvc-${form}-many-`;
      await client.routerOsVersion();
      expect(await roundTrips(connection, () => client.listDisks({ slotPrefix: prefix }))).toBe(1);
      for (let n = 0; n < 4; n++) {
        const name = `${prefix}${n}`;
        await client.createSubvolume({ fs: sim.fsLabel, fullname: `${root}/vols/${name}` });
        await client.addFileDisk({
          slot: name,
          filePath: `/${sim.pool}/${root}/vols/${name}/disk.img`,
          fileSize: MiB,
        });
      }
      let listed = 0;
      expect(
        await roundTrips(connection, async () => {
          listed = (await client.listDisks({ slotPrefix: prefix })).length;
        }),
      ).toBe(1);
      expect(listed).toBe(4);
      expect(
        await roundTrips(connection, () => client.listSubvolumes({ fullnamePrefix: `${root}/vols/` })),
      ).toBe(1);
      expect(await roundTrips(connection, () => client.getDisk(`${prefix}0`))).toBe(1);
      expect(await roundTrips(connection, () => client.setDiskFileSize(`${prefix}0`, 2n * MiB))).toBe(1);
      expect(await roundTrips(connection, () => client.removeDisk(`${prefix}0`))).toBe(1);
    });
  },
);

describe("RouterOS versions", () => {
  afterAll(async () => {
    await sim.control.setSettings({ routeros_version: "7.22" });
  });

  it("lists with print detail on a RouterOS without :serialize", async () => {
    await sim.control.setSettings({ routeros_version: "7.12" });
    const since = (await sim.control.commands()).at(-1)?.seq ?? 0;
    const { client } = connections.client();
    expect((await client.routerOsVersion()).minor).toBe(12);
    const capacity = await client.poolCapacity(sim.pool);
    expect(capacity.size).toBeGreaterThan(0n);
    const lines = (await sim.control.commands(since)).map((c) => c.line);
    expect(lines).toEqual([
      ":put [/system/resource get version]",
      `/disk print detail where mount-point="${sim.pool}"`,
    ]);
  });

  it("refuses what the version cannot do before sending it", async () => {
    await sim.control.setSettings({ routeros_version: "7.20" });
    const { client, connection } = connections.client();
    await client.routerOsVersion();
    const trips = connection.roundTrips;
    await expect(
      client.addFileDisk({
        slot: "pvc-old",
        filePath: `/${sim.pool}/x.img`,
        nvme: { port: 4420, nqn: "nqn.2000-02.com.x:y" },
      }),
    ).rejects.toMatchObject({ kind: "invalid-input" });
    await sim.control.setSettings({ routeros_version: "7.17" });
    const old = connections.client().client;
    await old.routerOsVersion();
    await expect(old.createSubvolume({ fs: sim.fsLabel, fullname: "x" })).rejects.toMatchObject({
      kind: "invalid-input",
    });
    expect(connection.roundTrips).toBe(trips);
  });
});
