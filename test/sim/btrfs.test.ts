import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

const MiB = 1024 * 1024;

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, data, 0, data.length, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `btrfs filesystem du -s --raw`: total, exclusive and shared bytes per path. */
function du(...paths: string[]): Array<{ total: number; exclusive: number; shared: number }> {
  const out = execFileSync("btrfs", ["filesystem", "du", "-s", "--raw", ...paths], { encoding: "utf8" });
  return out
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [total, exclusive, shared] = line.trim().split(/\s+/).map(Number);
      return { total: total as number, exclusive: exclusive as number, shared: shared as number };
    });
}

describe("sim Btrfs subvolumes and snapshots", () => {
  let sim: SimFixture;
  let run: (line: string) => Promise<string>;
  /** A plain `admin` session: 80 columns, as print detail layouts are checked. */
  let run80: (line: string) => Promise<string>;
  const host = (rel: string) => path.join(sim.poolMountPath, rel);

  beforeAll(async () => {
    sim = await startSim();
    // A wide session (as the driver logs in): `:put` wraps its replies at the session width.
    run = async (line) => (await sshExec(sim, line, { user: "admin+ct4096w" })).stdout;
    run80 = async (line) => (await sshExec(sim, line)).stdout;
    const dirs = ["rds-csi", "rds-csi/vols", "rds-csi/snaps", "rds-csi/snaps/pvc-a"];
    expect(await run(dirs.map((d) => `/file add type=directory name=raid1/${d}`).join("; "))).toBe("");
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 name=rds-csi/vols/pvc-a")).toBe("");
    expect(
      await run(
        "/disk add type=file slot=pvc-a file-path=/raid1/rds-csi/vols/pvc-a/disk.img file-size=64M " +
          "mount-filesystem=no nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.t:pvc-a",
      ),
    ).toBe("");
    writeAt(host("rds-csi/vols/pvc-a/disk.img"), 0, randomBytes(8 * MiB));
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("snapshots an exported volume read-only, sharing every extent", async () => {
    const before = sha256(host("rds-csi/vols/pvc-a/disk.img"));
    expect(
      await run(
        "/disk/btrfs/subvolume/add fs=raid1 parent=rds-csi/vols/pvc-a name=rds-csi/snaps/pvc-a/snap-1 read-only=yes",
      ),
    ).toBe("");
    const [vol, snap] = du(host("rds-csi/vols/pvc-a"), host("rds-csi/snaps/pvc-a/snap-1"));
    expect(vol?.total).toBe(8 * MiB);
    expect(vol?.exclusive).toBe(0);
    expect(snap?.shared).toBe(8 * MiB);
    writeAt(host("rds-csi/vols/pvc-a/disk.img"), 0, randomBytes(MiB));
    expect(sha256(host("rds-csi/snaps/pvc-a/snap-1/disk.img"))).toBe(before);
    expect(sha256(host("rds-csi/vols/pvc-a/disk.img"))).not.toBe(before);
    const [volAfter] = du(host("rds-csi/vols/pvc-a"));
    expect(volAfter?.exclusive).toBe(MiB);
    expect(() => writeAt(host("rds-csi/snaps/pvc-a/snap-1/disk.img"), 0, Buffer.from("x"))).toThrow(/EROFS/);
  });

  it("prints snapshots with name, fullname, parent, read-only, uuid and creation time", async () => {
    const json = await run(
      ':put [:serialize to=json [/disk/btrfs/subvolume/print detail as-value where fullname~"^rds-csi/snaps/"]]',
    );
    const [record, ...others] = JSON.parse(json) as Array<Record<string, unknown>>;
    expect(others).toEqual([]);
    expect(record).toMatchObject({
      fs: "raid1",
      name: "snap-1",
      fullname: "rds-csi/snaps/pvc-a/snap-1",
      parent: "pvc-a",
      "read-only": true,
      snapshot: true,
      "top-level": "<FS_ROOT>",
      path: "/raid1/rds-csi/snaps/pvc-a/snap-1",
    });
    expect(record?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(record?.["creation-time"]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const id = Number(record?.["subvolume-id"]);
    expect(record?.[".id"]).toBe(`*${id.toString(16).toUpperCase()}`);

    const detail = await run80('/disk/btrfs/subvolume/print detail where fullname~"^rds-csi/snaps/"');
    const tokens = [
      "fs=raid1",
      'name="snap-1"',
      'fullname="rds-csi/snaps/pvc-a/snap-1"',
      "top-level=<FS_ROOT>",
      "parent=pvc-a",
      "read-only=yes",
      `uuid="${record?.uuid}"`,
      `subvolume-id=${id}`,
      `generation=${record?.generation}`,
      `creation-time=${record?.["creation-time"]}`,
      "snapshot=yes",
      "path=/raid1/rds-csi/snaps/pvc-a/snap-1",
    ];
    const lines = detail.split("\r\n").slice(0, -1);
    expect(lines[0]).toBe("Flags: S - SNAPSHOT; r - READ-ONLY");
    expect(lines[1]?.startsWith(" 1 Sr fs=raid1 ")).toBe(true);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l) => l.trim())
        .join(" "),
    ).toBe(`1 Sr ${tokens.join(" ")}`);

    const asValue = await run(':put [/disk/btrfs/subvolume/print detail as-value where name="snap-1"]');
    expect(asValue).toContain(";parent=pvc-a;");
    expect(asValue.startsWith(`.id=*${id.toString(16).toUpperCase()};creation-time=`)).toBe(true);
  });

  it("restores a writable snapshot of a snapshot, resolving parent by its unique name", async () => {
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 parent=snap-1 name=rds-csi/vols/pvc-b")).toBe("");
    expect(sha256(host("rds-csi/vols/pvc-b/disk.img"))).toBe(
      sha256(host("rds-csi/snaps/pvc-a/snap-1/disk.img")),
    );
    writeAt(host("rds-csi/vols/pvc-b/disk.img"), 4 * MiB, Buffer.from("writable"));
    expect(
      await run(
        "/disk add type=file slot=pvc-b file-path=/raid1/rds-csi/vols/pvc-b/disk.img; /disk set pvc-b file-size=128M",
      ),
    ).toBe("");
    expect(await run(":put [/disk get pvc-b file-size]")).toBe("134217728\r\n");
    const line = await run(
      ':put [/disk/btrfs/subvolume/print as-value detail where fullname="rds-csi/vols/pvc-b"]',
    );
    expect(line).toContain(";parent=snap-1;");
    expect(line).toContain(";read-only=false;");
    expect(line).toContain(";snapshot=true;");
  });

  it("answers ambiguity and unknown parents in RouterOS words", async () => {
    await run("/file add type=directory name=raid1/rds-csi/snaps/pvc-b");
    expect(
      await run(
        "/disk/btrfs/subvolume/add fs=raid1 parent=pvc-b name=rds-csi/snaps/pvc-b/snap-1 read-only=yes",
      ),
    ).toBe("");
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 parent=snap-1 name=rds-csi/vols/pvc-c")).toBe(
      "ambiguous value of parent, more than one possible value matches input\r\n",
    );
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 parent=nosuch name=rds-csi/vols/pvc-c")).toBe(
      "input does not match any value of parent\r\n",
    );
    expect(await run("/disk/btrfs/subvolume/add fs=other name=x")).toBe(
      "input does not match any value of fs\r\n",
    );
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 name=no/such/dir/x")).toBe(
      "failure: directory does not exist\r\n",
    );
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 name=rds-csi/vols/pvc-a")).toBe(
      "failure: subvolume already exists\r\n",
    );
    expect(await run("/disk/btrfs/subvolume/add name=x")).toBe("missing value(s) of argument(s) fs\r\n");
  });

  it("refuses to delete a subvolume a disk uses; after /disk remove it goes, snapshots stay", async () => {
    expect(await run('/disk/btrfs/subvolume/remove [find where fullname="rds-csi/vols/pvc-a"]')).toBe(
      "failure: subvolume is in use by disk\r\n",
    );
    expect(await run("/file remove raid1/rds-csi/vols/pvc-a")).toBe(
      "failure: can not remove btrfs subvolume\r\n",
    );
    expect(await run("/disk remove [find slot=pvc-a]; /disk/btrfs/subvolume/remove rds-csi/vols/pvc-a")).toBe(
      "",
    );
    const snap = await run(
      ':put [/disk/btrfs/subvolume/get [find where fullname="rds-csi/snaps/pvc-a/snap-1"] parent]',
    );
    expect(snap).toBe("\r\n");
    expect(sha256(host("rds-csi/snaps/pvc-a/snap-1/disk.img"))).toMatch(/^[0-9a-f]{64}$/);
    expect(await run(':put [/disk/btrfs/subvolume/print count-only where fullname~"pvc-a"]')).toBe("1\r\n");
  });

  it("sees subvolumes made directly on the host after a refresh", async () => {
    execFileSync("btrfs", ["subvolume", "create", host("outside")]);
    await sim.control.refresh();
    expect(await run(':put [/disk/btrfs/subvolume/get [find where fullname="outside"] name]')).toBe(
      "outside\r\n",
    );
    execFileSync("btrfs", ["subvolume", "delete", host("outside")]);
    await sim.control.refresh();
    expect(await run(':put [/disk/btrfs/subvolume/print count-only where fullname="outside"]')).toBe("0\r\n");
  });

  it("a table patched after its own changes equals a fresh read of the filesystem", async () => {
    // Generations move on with any write (a full read every 30 s catches up), so they are left out
    // (printed `7` or, as RouterOS 7.2x does, `7.000000`).
    const detail = async () =>
      (await run(":put [:serialize to=json [/disk/btrfs/subvolume print detail as-value]]")).replace(
        /"generation":\d+(\.\d+)?,/g,
        "",
      );
    const made = await run(
      "/file add type=directory name=raid1/rds-csi/snaps/patch-src; " +
        "/disk/btrfs/subvolume add fs=raid1 name=rds-csi/vols/patch-src; " +
        "/disk/btrfs/subvolume add fs=raid1 parent=rds-csi/vols/patch-src name=rds-csi/snaps/patch-src/patch-ro read-only=yes; " +
        "/disk/btrfs/subvolume add fs=raid1 parent=rds-csi/snaps/patch-src/patch-ro name=rds-csi/vols/patch-rw; " +
        "/disk/btrfs/subvolume add fs=raid1 name=rds-csi/vols/patch-plain; " +
        '/disk/btrfs/subvolume set [find where fullname="rds-csi/vols/patch-plain"] read-only=yes',
    );
    expect(made).toBe("");
    const patched = await detail();
    expect(patched).toContain('"rds-csi/snaps/patch-src/patch-ro"');
    await sim.control.refresh();
    expect(await detail()).toBe(patched);
    expect(
      await run(
        '/disk/btrfs/subvolume remove [find where fullname~"^rds-csi/(vols|snaps/patch-src)/patch-"]',
      ),
    ).toBe("");
    const removed = await detail();
    expect(removed).not.toContain("patch-");
    await sim.control.refresh();
    expect(await detail()).toBe(removed);
  });

  it("keeps subvolumes, disks and files across a restart", async () => {
    const read = () =>
      run(
        ":put [/disk/btrfs/subvolume/print detail as-value]; :put [/disk print count-only]; /file print count-only",
      );
    // The Btrfs generation moves on with every transaction, so it is left out of the comparison.
    const stable = (text: string) => text.replace(/generation=\d+/g, "");
    const before = await read();
    await sim.restart();
    expect(stable(await read())).toBe(stable(before));
    expect(before).toContain("fullname=rds-csi/vols/pvc-b");
  });

  it("shows subvolumes and images in /file with RouterOS names and types", async () => {
    const out = await sshExec(sim, '/file print detail where name~"^raid1/rds-csi/vols/pvc-b"', {
      user: "admin+200w",
    });
    const lines = out.stdout.split("\r\n");
    expect(lines[0]).toMatch(
      /^ *\d+ name=raid1\/rds-csi\/vols\/pvc-b type=directory last-modified=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d $/,
    );
    expect(lines[1]).toBe(" ");
    expect(lines[2]).toMatch(
      /^ *\d+ name=raid1\/rds-csi\/vols\/pvc-b\/disk\.img type=\.img file size=128\.0MiB last-modified=[\d: -]+ $/,
    );
    expect(await run(':put [/file get [find name="raid1/rds-csi/vols/pvc-b/disk.img"] size]')).toBe(
      "134217728\r\n",
    );
  });
});
