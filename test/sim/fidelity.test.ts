import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

/**
 * Issue 18: RouterOS 7.2x behaviours the emulator reproduces (with a setting where versions may
 * differ), and each value of each setting for a behaviour unknown on hardware, over real SSH.
 */
describe("RouterOS 7.2x fidelity and the settings for unknown behaviours", () => {
  let sim: SimFixture;
  /** A session 512 columns wide, as the driver logs in. */
  const run = async (line: string, user = "admin+cet512w") => (await sshExec(sim, line, { user })).stdout;
  const set = (settings: Record<string, unknown>) => sim.control.setSettings(settings);

  beforeAll(async () => {
    sim = await startSim({ size: "512M" });
    expect(
      await run(
        "/file add type=directory name=/raid1/f; /disk/btrfs/subvolume add fs=raid1 name=sv; " +
          "/disk add type=file file-path=/raid1/sv/disk.img file-size=1G slot=d1 nvme-tcp-export=yes",
      ),
    ).toBe("");
  });
  afterAll(async () => {
    await sim?.stop();
  });
  afterEach(async () => {
    // Back to the defaults the next test expects.
    await set({
      json_integer_form: "float",
      file_listing_contents: true,
      file_id_form: "opaque",
      put_wrap: true,
      snapshot_parent_resolution: "path",
      subvolume_name_with_slash: "accept",
      subvolume_fullname_form: "no-leading-slash",
      subvolume_fs_form: "label",
      creation_time_format: "iso",
      line_error_mode: "stop",
      proplist_keeps_id: true,
      exported_disk_file_size: "resize",
      attach_without_file_size: "accept",
      file_size_plain_bytes: "accept",
      file_add_relative_path: "accept",
      error_texts: "default",
    });
  });

  const json = (what: string) => `:put [:serialize to=json [${what}]]`;

  it("serializes integers as floats with six decimals, or plainly (json_integer_form)", async () => {
    const line = json('/disk print detail as-value where slot="d1"');
    expect(await run(line)).toContain('"file-size":1073741824.000000');
    expect(await run(line)).toContain('"nvme-tcp-server-port":4420.000000');
    await set({ json_integer_form: "integer" });
    expect(await run(line)).toContain('"file-size":1073741824,');
  });

  it("lists the keys of a singleton record sorted, and accepts [find .id=*N]", async () => {
    const keys = Object.keys(JSON.parse(await run(json("/system resource get"))) as object);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys).toEqual([...keys].sort());
    const id = (await run(':put [/disk find slot="d1"]')).trim();
    expect(id).toMatch(/^\*[0-9A-F]+$/);
    expect(await run(`:put [/disk get [find .id=${id}] slot]`)).toBe("d1\r\n");
  });

  it("carries contents of small text files in listings without proplist (file_listing_contents)", async () => {
    writeFileSync(path.join(sim.poolMountPath, "f", "note.txt"), "a=1;b=2\nsecond line");
    writeFileSync(path.join(sim.poolMountPath, "f", "big.txt"), "x".repeat(5000));
    const where = 'where name~"^raid1/f/"';
    const records = JSON.parse(await run(json(`/file print detail as-value ${where}`))) as Array<
      Record<string, unknown>
    >;
    expect(records.find((r) => r.name === "raid1/f/note.txt")?.contents).toBe("a=1;b=2\nsecond line");
    expect(records.find((r) => r.name === "raid1/f/big.txt")).not.toHaveProperty("contents");
    expect(await run(`/file print detail ${where}`)).toContain('contents="a=1;b=2\\nsecond line"');
    expect(await run(`:put [/file print detail as-value ${where}]`)).toContain("contents=a=1;b=2\r\n");
    expect(await run(json(`/file print detail as-value proplist=name ${where}`))).not.toContain("contents");
    await set({ file_listing_contents: false });
    expect(await run(json(`/file print detail as-value ${where}`))).not.toContain("contents");
    expect(await run(':put [/file get [find name="raid1/f/note.txt"] contents]')).toBe(
      "a=1;b=2\r\nsecond line\r\n",
    );
  });

  it("gives /file opaque ids with a space, or *N (file_id_form)", async () => {
    const id = (await run(':put [/file find name="raid1/f"]')).trim();
    expect(id).toMatch(/^\*\*[0-9A-Za-z]{8} [0-9A-Za-z]+$/);
    expect(await run(`:put [/file get [find .id="${id}"] type]`)).toBe("directory\r\n");
    expect(await run('/file print where .id="**AAAAAAAA 1"')).toMatch(/^expected item id/);
    await set({ file_id_form: "star-hex" });
    expect((await run(':put [/file find name="raid1/f"]')).trim()).toMatch(/^\*[0-9A-F]+$/);
  });

  it("wraps :put lines at the session width, mid-token (put_wrap)", async () => {
    const text = "0123456789".repeat(10);
    expect(await run(`:put "${text}"`, "admin+ct40w")).toBe(
      `${text.slice(0, 40)}\r\n${text.slice(40, 80)}\r\n${text.slice(80)}\r\n`,
    );
    await set({ put_wrap: false });
    expect(await run(`:put "${text}"`, "admin+ct40w")).toBe(`${text}\r\n`);
  });

  it("resolves parent= by path or by last name only (snapshot_parent_resolution)", async () => {
    await run("/disk/btrfs/subvolume add fs=raid1 name=sv/src");
    expect(await run("/disk/btrfs/subvolume add fs=raid1 parent=sv/src name=sv/s1 read-only=yes")).toBe("");
    await set({ snapshot_parent_resolution: "last-name" });
    expect(await run("/disk/btrfs/subvolume add fs=raid1 parent=sv/src name=sv/s2 read-only=yes")).toBe(
      "input does not match any value of parent\r\n",
    );
    expect(await run("/disk/btrfs/subvolume add fs=raid1 parent=src name=sv/s2 read-only=yes")).toBe("");
  });

  it("accepts or refuses a nested name under a plain directory (subvolume_name_with_slash)", async () => {
    await set({ subvolume_name_with_slash: "refuse" });
    expect(await run("/disk/btrfs/subvolume add fs=raid1 name=f/n1")).toBe(
      "invalid value for argument name\r\n",
    );
    // Inside a subvolume it is documented, so always accepted.
    expect(await run("/disk/btrfs/subvolume add fs=raid1 name=sv/n1")).toBe("");
    await set({ subvolume_name_with_slash: "accept" });
    expect(await run("/disk/btrfs/subvolume add fs=raid1 name=f/n1")).toBe("");
  });

  it("prints fullname with a leading slash, fs as a uuid, dates the old way (print forms)", async () => {
    await set({
      subvolume_fullname_form: "leading-slash",
      subvolume_fs_form: "uuid",
      creation_time_format: "routeros",
    });
    const [record] = JSON.parse(
      await run(json('/disk/btrfs/subvolume print detail as-value where name="src"')),
    ) as Array<Record<string, string>>;
    const uuid = (await run(":put [/disk/btrfs/filesystem get [find] uuid]")).trim();
    expect(record).toMatchObject({ fullname: "/sv/src", fs: uuid });
    expect(record?.["creation-time"]).toMatch(/^[a-z]{3}\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
    expect(await run(':put [/file get [find name="raid1/f"] last-modified]')).toMatch(
      /^[a-z]{3}\/\d\d\/\d{4} /,
    );
    // Both spellings name it; add takes the uuid as fs too.
    expect(await run(':put [/disk/btrfs/subvolume get [find where fullname="/sv/src"] name]')).toBe(
      "src\r\n",
    );
    expect(await run(`/disk/btrfs/subvolume add fs=${uuid} name=sv/by-uuid`)).toBe("");
  });

  it("stops a ;-joined line at the first runtime error, or runs the rest (line_error_mode)", async () => {
    expect(await run('/file add type=directory name=/raid1/f; :put "after"')).toBe(
      "failure: file already exists\r\n",
    );
    await set({ line_error_mode: "continue" });
    expect(await run('/file add type=directory name=/raid1/f; :put "after"')).toBe(
      "failure: file already exists\r\nafter\r\n",
    );
  });

  it("keeps .id under proplist= or prints only what the list names (proplist_keeps_id)", async () => {
    const line = ':put [/disk print detail as-value proplist=slot where slot="d1"]';
    expect(await run(line)).toMatch(/^\.id=\*[0-9A-F]+;slot=d1\r\n$/);
    await set({ proplist_keeps_id: false });
    expect(await run(line)).toBe("slot=d1\r\n");
    expect(await run(':put [/disk print detail as-value proplist=.id,slot where slot="d1"]')).toMatch(
      /^\.id=/,
    );
  });

  it("resizes, refuses or ignores file-size= of an exported disk (exported_disk_file_size)", async () => {
    const size = async () => (await run(":put [/disk get d1 file-size]")).trim();
    await set({ exported_disk_file_size: "refuse" });
    expect(await run("/disk set d1 file-size=2G")).toBe(
      "failure: can not change file-size of an exported disk\r\n",
    );
    expect(await size()).toBe("1073741824");
    await set({ exported_disk_file_size: "ignore" });
    expect(await run("/disk set d1 file-size=2G")).toBe("");
    expect(await size()).toBe("1073741824");
    await set({ exported_disk_file_size: "resize" });
    expect(await run("/disk set d1 file-size=2G")).toBe("");
    expect(await size()).toBe("2147483648");
  });

  it("attaches an existing file without file-size, or insists on it (attach_without_file_size)", async () => {
    writeFileSync(path.join(sim.poolMountPath, "sv", "old.img"), Buffer.alloc(4096));
    await set({ attach_without_file_size: "refuse" });
    expect(await run("/disk add type=file file-path=/raid1/sv/old.img slot=old")).toBe(
      "missing value(s) of argument(s) file-size\r\n",
    );
    await set({ attach_without_file_size: "accept" });
    expect(await run("/disk add type=file file-path=/raid1/sv/old.img slot=old")).toBe("");
    expect(await run(":put [/disk get old file-size]")).toBe("4096\r\n");
    await run("/disk remove old");
  });

  it("takes file-size in plain bytes, or only with a unit (file_size_plain_bytes)", async () => {
    await set({ file_size_plain_bytes: "refuse" });
    expect(await run("/disk add type=file file-path=/raid1/sv/p.img file-size=1048576 slot=p")).toBe(
      "invalid value for argument file-size\r\n",
    );
    expect(await run("/disk add type=file file-path=/raid1/sv/p.img file-size=1M slot=p")).toBe("");
    await run("/disk remove p");
  });

  it("takes a /file add name without the leading slash, or refuses it (file_add_relative_path)", async () => {
    await set({ file_add_relative_path: "refuse" });
    expect(await run("/file add type=directory name=raid1/rel")).toBe(
      "failure: can not create file outside of a disk\r\n",
    );
    expect(await run("/file add type=directory name=/raid1/rel")).toBe("");
  });

  it("words storage failures by a profile name (error_texts)", async () => {
    await set({ error_texts: "alternative" });
    expect(await run("/disk add type=file file-path=/raid1/sv/q.img file-size=1M slot=d1")).toBe(
      "failure: slot name is taken\r\n",
    );
    expect((await sim.control.getSettings()).error_texts).toMatchObject({
      no_space: "failure: storage full",
    });
  });
});
