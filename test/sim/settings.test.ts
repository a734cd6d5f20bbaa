import { execFileSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

const MiB = 1024 * 1024;

/** Each setting for a behaviour nobody has seen on hardware changes what the emulator does. */
describe("sim settings for unknown behaviours", () => {
  let sim: SimFixture;
  let run: (line: string) => Promise<string>;
  const host = (rel: string) => path.join(sim.poolMountPath, rel);
  const allocated = (rel: string) =>
    Number(execFileSync("stat", ["-c", "%b", host(rel)], { encoding: "utf8" })) * 512;

  beforeAll(async () => {
    sim = await startSim({
      settings: {
        identity: "lab",
        faults: [{ match: "^:put first$", action: "fail", error: "failure: busy", times: 1 }],
      },
      routerosVersion: "7.23",
    });
    run = async (line) => (await sshExec(sim, line)).stdout;
    await run("/file add type=directory name=raid1/s");
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("installs fault rules from the settings file", async () => {
    expect(await run(":put first")).toBe("failure: busy\r\n");
    expect(await run(":put first")).toBe("first\r\n");
  });

  it("takes the settings file and version flag at start", async () => {
    expect(await run(":put [/system identity get name]; :put [/system resource get version]")).toBe(
      "lab\r\n7.23 (stable)\r\n",
    );
  });

  it("auto_create_parent_dirs", async () => {
    expect(await run("/disk add type=file file-path=raid1/s/new/a.img file-size=1M slot=auto-a")).toBe(
      "failure: directory does not exist\r\n",
    );
    await sim.control.setSettings({ auto_create_parent_dirs: true });
    expect(await run("/disk add type=file file-path=raid1/s/new/a.img file-size=1M slot=auto-a")).toBe("");
    expect(await run("/disk/btrfs/subvolume/add fs=raid1 name=s/deep/er/sv")).toBe("");
    await sim.control.setSettings({ auto_create_parent_dirs: false });
    expect(statSync(host("s/new/a.img")).size).toBe(MiB);
  });

  it("preallocate", async () => {
    expect(await run("/disk add type=file file-path=raid1/s/sparse.img file-size=4M slot=sparse")).toBe("");
    await sim.control.setSettings({ preallocate: true });
    expect(await run("/disk add type=file file-path=raid1/s/full.img file-size=4M slot=full")).toBe("");
    await sim.control.setSettings({ preallocate: false });
    expect(allocated("s/sparse.img")).toBe(0);
    expect(allocated("s/full.img")).toBe(4 * MiB);
  });

  it("allow_shrink and existing_file_with_size", async () => {
    expect(await run("/disk set sparse file-size=2M")).toBe("failure: can not shrink file\r\n");
    await sim.control.setSettings({ allow_shrink: true });
    expect(await run("/disk set sparse file-size=2M")).toBe("");
    await sim.control.setSettings({ allow_shrink: false });
    expect(statSync(host("s/sparse.img")).size).toBe(2 * MiB);

    await run("/disk remove sparse");
    expect(await run("/disk add type=file file-path=raid1/s/sparse.img file-size=1M slot=sparse")).toBe(
      "failure: can not shrink file\r\n",
    );
    expect(await run("/disk add type=file file-path=raid1/s/sparse.img file-size=3M slot=sparse")).toBe("");
    expect(statSync(host("s/sparse.img")).size).toBe(3 * MiB);
    await run("/disk remove sparse");
    await sim.control.setSettings({ existing_file_with_size: "fail" });
    expect(await run("/disk add type=file file-path=raid1/s/sparse.img file-size=3M slot=sparse")).toBe(
      "failure: file already exists\r\n",
    );
    expect(await run("/disk add type=file file-path=raid1/s/sparse.img slot=sparse")).toBe("");
    await sim.control.setSettings({ existing_file_with_size: "truncate" });
    expect(await run(":put [/disk get sparse file-size]")).toBe(`${3 * MiB}\r\n`);
  });

  it("copy_from_mode: metadata, reflink, copy", async () => {
    writeFileSync(host("s/full.img"), Buffer.alloc(4 * MiB, 7));
    await run("/disk set full nvme-tcp-export=yes nvme-tcp-server-nqn=nqn.x:full comment=src");
    expect(
      await run("/disk add type=file copy-from=[find slot=full] file-path=raid1/s/meta.img slot=meta"),
    ).toBe("");
    expect(await run(":put [/disk get meta nvme-tcp-server-nqn]; :put [/disk get meta comment]")).toBe(
      "nqn.x:full\r\nsrc\r\n",
    );
    expect(statSync(host("s/meta.img")).size).toBe(4 * MiB);
    expect(allocated("s/meta.img")).toBe(0);
    for (const mode of ["reflink", "copy"] as const) {
      await sim.control.setSettings({ copy_from_mode: mode });
      expect(
        await run(
          `/disk add type=file copy-from=full file-path=raid1/s/${mode}.img slot=${mode} nvme-tcp-export=no`,
        ),
      ).toBe("");
      expect(execFileSync("cmp", [host("s/full.img"), host(`s/${mode}.img`)]).length).toBe(0);
    }
    await sim.control.setSettings({ copy_from_mode: "metadata" });
    execFileSync("btrfs", ["filesystem", "sync", sim.poolMountPath]);
    const du = execFileSync(
      "btrfs",
      ["filesystem", "du", "-s", "--raw", host("s/reflink.img"), host("s/copy.img")],
      {
        encoding: "utf8",
      },
    );
    const [reflinked, copied] = du
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/).map(Number));
    expect(reflinked?.[1]).toBe(0);
    expect(copied?.[1]).toBe(4 * MiB);
  });

  it("subvolume_remove_in_use and subvolume rename", async () => {
    await run("/disk/btrfs/subvolume/add fs=raid1 name=s/vol");
    await run("/disk add type=file file-path=raid1/s/vol/disk.img file-size=1M slot=vol");
    // Unquoted, `s/vol` is arithmetic in a where clause and matches nothing: a silent no-op.
    expect(await run("/disk/btrfs/subvolume/set [find where fullname=s/vol] name=s/vol2")).toBe("");
    expect(await run('/disk/btrfs/subvolume/set [find where fullname="s/vol"] name=s/vol2')).toBe(
      "failure: subvolume is in use by disk\r\n",
    );
    await sim.control.setSettings({ subvolume_remove_in_use: "allow" });
    expect(await run('/disk/btrfs/subvolume/set [find where fullname="s/vol"] name=s/vol2')).toBe("");
    expect(await run(':put [/disk/btrfs/subvolume/get [find where fullname="s/vol2"] name]')).toBe(
      "vol2\r\n",
    );
    expect(await run('/disk/btrfs/subvolume/remove [find where fullname="s/vol2"]')).toBe("");
    await sim.control.setSettings({ subvolume_remove_in_use: "fail" });
    expect(existsSync(host("s/vol2"))).toBe(false);
  });

  it("file_remove_directory, file_remove_subvolume and file_remove_in_use", async () => {
    await run("/file add type=directory name=raid1/s/dir; /file add name=raid1/s/dir/x.txt contents=hello");
    expect(await run("/file remove raid1/s/dir")).toBe("failure: directory is not empty\r\n");
    await sim.control.setSettings({ file_remove_directory: "never" });
    expect(await run("/file remove raid1/s/new")).toBe("failure: can not remove directory\r\n");
    await sim.control.setSettings({ file_remove_directory: "recursive" });
    expect(await run("/file remove raid1/s/dir")).toBe("");
    await sim.control.setSettings({ file_remove_directory: "if-empty" });
    expect(existsSync(host("s/dir"))).toBe(false);

    expect(await run("/file remove raid1/s/full.img")).toBe("failure: file is in use by disk\r\n");
    await sim.control.setSettings({ file_remove_in_use: "allow" });
    expect(await run("/file remove raid1/s/full.img")).toBe("");
    await sim.control.setSettings({ file_remove_in_use: "fail" });

    await sim.control.setSettings({ file_remove_subvolume: "delete" });
    expect(await run("/file remove raid1/s/deep/er/sv")).toBe("");
    await sim.control.setSettings({ file_remove_subvolume: "fail" });
    expect(await run(':put [/disk/btrfs/subvolume/print count-only where fullname="s/deep/er/sv"]')).toBe(
      "0\r\n",
    );
  });

  it("remove_exported_disk, subvolume_parent_format, empty_print_legend, wrap_width, error_texts", async () => {
    await sim.control.setSettings({ remove_exported_disk: "fail" });
    expect(await run("/disk remove meta")).toBe("failure: disk is exported\r\n");
    await sim.control.setSettings({ remove_exported_disk: "allow" });
    expect(await run("/disk remove meta")).toBe("");

    await run(
      "/disk/btrfs/subvolume/add fs=raid1 name=s/src; /disk/btrfs/subvolume/add fs=raid1 parent=s/src name=s/snap",
    );
    expect(await run(':put [/disk/btrfs/subvolume/get [find where fullname="s/snap"] parent]')).toBe(
      "src\r\n",
    );
    await sim.control.setSettings({ subvolume_parent_format: "fullname" });
    expect(await run(':put [/disk/btrfs/subvolume/get [find where fullname="s/snap"] parent]')).toBe(
      "s/src\r\n",
    );

    // RouterOS 7.2x shows the menu's whole legend when nothing matched; the setting turns it off.
    expect(await run("/disk print detail where slot=nosuch")).toMatch(/^Flags: X - DISABLED; .*\r\n$/);
    await sim.control.setSettings({ empty_print_legend: false, wrap_width: 0 });
    expect(await run("/disk print detail where slot=nosuch")).toBe("");
    expect((await run("/disk print detail where slot=vol")).split("\r\n")).toHaveLength(3);

    await sim.control.setSettings({ error_texts: { duplicate_slot: "already have such item" } });
    expect(await run("/disk add type=file file-path=raid1/s/dup.img file-size=1M slot=vol")).toBe(
      "already have such item\r\n",
    );
    expect((await sim.control.getSettings()).error_texts).toMatchObject({
      shrink: "failure: can not shrink file",
    });
  });

  it("keeps runtime settings across a restart, except pool_full and reject_sessions", async () => {
    await sim.control.poolFull(true);
    await sim.restart();
    const settings = await sim.control.getSettings();
    expect(settings).toMatchObject({ subvolume_parent_format: "fullname", wrap_width: 0, pool_full: false });
    expect(await run(":put [/system identity get name]")).toBe("lab\r\n");
  });
});
