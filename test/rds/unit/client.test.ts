import { describe, expect, it } from "vitest";
import { RdsClient, type RdsClientOptions } from "../../../src/rds/client.js";
import { BATCH_SEPARATOR } from "../../../src/rds/command.js";
import { RdsError } from "../../../src/rds/errors.js";
import type { CommandTransport } from "../../../src/rds/runner.js";

type Reply = string | RdsError | ((line: string) => string);

/** A scripted transport: answers commands in order and records what was sent. */
class ScriptedTransport implements CommandTransport {
  readonly sent: string[] = [];
  constructor(private readonly replies: Reply[]) {}
  async exec(line: string) {
    this.sent.push(line);
    const reply = this.replies.shift();
    if (reply === undefined) throw new Error(`unexpected command: ${line}`);
    if (reply instanceof RdsError) throw reply;
    return { stdout: typeof reply === "function" ? reply(line) : reply, stderr: "", exitCode: 0 };
  }
}

/** The reply to a batch line: each command's output, the separator line between them. */
const batched = (...parts: string[]) => parts.join(`${BATCH_SEPARATOR}\r\n`);
const SEP = ':put "--- rds-csi: next reply ---"';

const fastRetries: RdsClientOptions = { retryBackoff: { initialMs: 1, maxMs: 2 } };
const GiB = 1024n ** 3n;
const diskJson = (extra = "") =>
  `[{".id":"*1F","slot":"pvc-1","type":"file","file-path":"/pool/csi/vols/pvc-1/disk.img","file-size":1073741824,` +
  `"size":1073741824,"nvme-tcp-export":true,"nvme-tcp-server-port":4420,"nvme-tcp-server-nqn":"nqn.2000-02.com.mikrotik:pvc-1",` +
  `"disabled":false,"comment":"pvc"${extra}}]\r\n`;

describe("RdsClient commands", () => {
  it("asks the version once and lists in JSON from 7.13", async () => {
    const t = new ScriptedTransport(["7.22 (stable)\r\n", diskJson(), "[]\r\n"]);
    const client = new RdsClient(t);
    const disk = await client.getDisk("pvc-1");
    expect(await client.getDisk("pvc-1")).toBeNull();
    expect(t.sent).toEqual([
      ":put [/system/resource get version]",
      ':put [:serialize to=json [/disk print detail as-value where slot="pvc-1"]]',
      ':put [:serialize to=json [/disk print detail as-value where slot="pvc-1"]]',
    ]);
    expect(disk).toEqual({
      id: "*1F",
      slot: "pvc-1",
      type: "file",
      filePath: "/pool/csi/vols/pvc-1/disk.img",
      fileSize: GiB,
      size: GiB,
      nvmeExport: true,
      nvmePort: 4420,
      nqn: "nqn.2000-02.com.mikrotik:pvc-1",
      allowHostName: "",
      disabled: false,
      comment: "pvc",
    });
  });

  it("falls back to print detail before 7.13", async () => {
    const detail =
      'Flags: B - BLOCK-DEVICE\r\n 0 B type=file slot="pvc-1" size=1 073 741 824 file-path=/pool/x/disk.img file-size=1024.0MiB \r\n';
    const t = new ScriptedTransport(["7.12.2 (long-term)\r\n", detail]);
    const disks = await new RdsClient(t).listDisks({ slotPrefix: "pvc-" });
    expect(t.sent[1]).toBe('/disk print detail where slot~"^pvc-"');
    expect(disks.map((d) => [d.slot, d.fileSize])).toEqual([["pvc-1", GiB]]);
  });

  it("adds an exported file disk and reads it back in one exec", async () => {
    const t = new ScriptedTransport([batched("", diskJson())]);
    const client = new RdsClient(t, { listingForm: "json" });
    const disk = await client.addFileDisk({
      slot: "pvc-1",
      filePath: "pool/csi/vols/pvc-1/disk.img",
      fileSize: GiB - 5n,
      nvme: { port: 4420, nqn: "nqn.2000-02.com.mikrotik:pvc-1" },
      comment: 'a "quoted" $comment',
    });
    expect(t.sent[0]).toBe(
      '/disk add type=file slot=pvc-1 file-path="/pool/csi/vols/pvc-1/disk.img" file-size=1G mount-filesystem=no ' +
        'nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-1" ' +
        'comment="a \\"quoted\\" \\$comment"; ' +
        `${SEP}; :put [:serialize to=json [/disk print detail as-value where slot="pvc-1"]]`,
    );
    expect(t.sent).toHaveLength(1);
    expect(disk.fileSize).toBe(GiB);
  });

  it("refuses an NQN on a RouterOS that cannot set one, without sending anything", async () => {
    const t = new ScriptedTransport(["7.20.8 (stable)\r\n", "[]\r\n"]);
    const client = new RdsClient(t);
    await client.routerOsVersion();
    await expect(
      client.addFileDisk({
        slot: "pvc-1",
        filePath: "/p/x.img",
        nvme: { port: 4420, nqn: "nqn.2000-02.com.x:y" },
      }),
    ).rejects.toMatchObject({ kind: "invalid-input" });
    expect(t.sent).toHaveLength(1);
  });

  it("refuses subvolume commands on a RouterOS without /disk/btrfs/subvolume", async () => {
    const t = new ScriptedTransport(["7.17 (stable)\r\n"]);
    const client = new RdsClient(t);
    await client.routerOsVersion();
    await expect(client.createSubvolume({ fs: "pool", fullname: "v/x" })).rejects.toMatchObject({
      kind: "invalid-input",
    });
    await expect(
      client.snapshotSubvolume({ fs: "pool", source: "v/x", target: "s/x", readOnly: true }),
    ).rejects.toMatchObject({ kind: "invalid-input" });
    expect(t.sent).toHaveLength(1);
  });

  it("grows a disk and reports a vanished one as not found", async () => {
    const grown = diskJson().replaceAll("1073741824", String(2n * GiB));
    const t = new ScriptedTransport([batched("", grown), batched("", "[]\r\n")]);
    const client = new RdsClient(t, { listingForm: "json" });
    expect((await client.setDiskFileSize("pvc-1", 2n * GiB)).fileSize).toBe(2n * GiB);
    expect(t.sent[0]).toMatch(/^\/disk set \[find where slot="pvc-1"\] file-size=2G; /);
    await expect(client.setDiskFileSize("pvc-1", 3n * GiB)).rejects.toMatchObject({ kind: "not-found" });
  });

  it("reports a size that did not change as a protocol error", async () => {
    const t = new ScriptedTransport([batched("", diskJson())]);
    await expect(
      new RdsClient(t, { listingForm: "json" }).setDiskFileSize("pvc-1", 2n * GiB),
    ).rejects.toMatchObject({
      kind: "protocol",
    });
  });

  it("removes by [find] so that a missing item is a no-op", async () => {
    const t = new ScriptedTransport(["", "", ""]);
    const client = new RdsClient(t, { listingForm: "json" });
    await client.removeDisk("pvc-1");
    await client.removeSubvolume("vols/pvc-1", { fs: "pool" });
    await client.removeFile("/pool/csi/vols/pvc-1/disk.img");
    expect(t.sent).toEqual([
      '/disk remove [find where slot="pvc-1"]',
      '/disk/btrfs/subvolume remove [find where ((fs="pool") or (fs=[/disk/btrfs/filesystem get [find where label="pool"] uuid])) and ((fullname="vols/pvc-1") or (fullname="/vols/pvc-1"))]',
      '/file remove [find where name="pool/csi/vols/pvc-1/disk.img"]',
    ]);
  });

  it("creates subvolumes and snapshots, reading each back", async () => {
    const sub = (name: string, ro: boolean) =>
      `[{".id":"*9","fs":"pool","name":"${name.split("/").pop()}","fullname":"${name}","read-only":${ro},"creation-time":"2026-03-04 05:06:07"}]`;
    const t = new ScriptedTransport([
      batched("", sub("csi/vols/pvc-1", false)),
      batched("", sub("csi/snaps/snap-1", true)),
    ]);
    const client = new RdsClient(t, { listingForm: "json" });
    const vol = await client.createSubvolume({ fs: "pool", fullname: "csi/vols/pvc-1" });
    const snap = await client.snapshotSubvolume({
      fs: "pool",
      source: "csi/vols/pvc-1",
      target: "csi/snaps/snap-1",
      readOnly: true,
    });
    expect(t.sent).toEqual([
      `/disk/btrfs/subvolume add fs="pool" name="csi/vols/pvc-1"; ${SEP}; ` +
        ':put [:serialize to=json [/disk/btrfs/subvolume print detail as-value where ((fs="pool") or (fs=[/disk/btrfs/filesystem get [find where label="pool"] uuid])) and ((fullname="csi/vols/pvc-1") or (fullname="/csi/vols/pvc-1"))]]',
      `/disk/btrfs/subvolume add fs="pool" parent="csi/vols/pvc-1" name="csi/snaps/snap-1" read-only=yes; ${SEP}; ` +
        ':put [:serialize to=json [/disk/btrfs/subvolume print detail as-value where ((fs="pool") or (fs=[/disk/btrfs/filesystem get [find where label="pool"] uuid])) and ((fullname="csi/snaps/snap-1") or (fullname="/csi/snaps/snap-1"))]]',
    ]);
    expect(vol).toMatchObject({
      fullname: "csi/vols/pvc-1",
      readOnly: false,
      creationTime: new Date("2026-03-04T05:06:07Z"),
    });
    expect(snap.readOnly).toBe(true);
  });

  it("lists with one round trip and keeps only the asked prefix", async () => {
    const json =
      '[{"name":"a","fullname":"csi/snaps/snap-1"},{"name":"b","fullname":"csi/snaps/snap-2"},{"name":"c","fullname":"csi/snapsX"}]';
    const t = new ScriptedTransport([json]);
    const subs = await new RdsClient(t, { listingForm: "json" }).listSubvolumes({
      fullnamePrefix: "csi/snaps/",
    });
    expect(subs.map((s) => s.fullname)).toEqual(["csi/snaps/snap-1", "csi/snaps/snap-2"]);
    expect(t.sent).toEqual([
      ':put [:serialize to=json [/disk/btrfs/subvolume print detail as-value where fullname~"^/\\?csi/snaps/"]]',
    ]);
  });

  it("reads an exact file size with a second round trip when print detail rounds it", async () => {
    const detail =
      " 0 name=pool/x/disk.img type=.img file size=50.0GiB last-modified=2026-01-01 00:00:00 \r\n";
    const t = new ScriptedTransport([detail, "53687091200\r\n"]);
    const file = await new RdsClient(t, { listingForm: "detail" }).getFile("/pool/x/disk.img");
    expect(file).toMatchObject({ name: "pool/x/disk.img", size: 50n * GiB });
    expect(t.sent).toEqual([
      '/file print detail proplist=name,type,size,last-modified where name="pool/x/disk.img"',
      ':put [/file get [find where name="pool/x/disk.img"] size]',
    ]);
  });

  it("reads pool capacity from the mounted pool disk, in as-value form too", async () => {
    const t = new ScriptedTransport([
      ".id=*1;free=14789895307264;fs=btrfs;mount-point=pool;size=16003143565312;slot=raid1;type=raid\r\n",
      "",
    ]);
    const client = new RdsClient(t, { listingForm: "as-value" });
    expect(await client.poolCapacity("pool")).toEqual({
      size: 16_003_143_565_312n,
      free: 14_789_895_307_264n,
    });
    expect(t.sent[0]).toBe(':put [/disk print detail as-value where mount-point="pool"]');
    await expect(client.poolCapacity("pool")).rejects.toMatchObject({ kind: "not-found" });
  });
});

describe("RdsClient errors and retries", () => {
  it("turns RouterOS text into typed errors", async () => {
    const t = new ScriptedTransport([
      "failure: item with such name already exists\r\n",
      "failure: not enough space\r\n",
    ]);
    const client = new RdsClient(t, { listingForm: "json" });
    await expect(client.addFileDisk({ slot: "pvc-1", filePath: "/p/x.img" })).rejects.toMatchObject({
      kind: "already-exists",
    });
    await expect(client.createSubvolume({ fs: "pool", fullname: "v/x" })).rejects.toMatchObject({
      kind: "no-space",
      command: '/disk/btrfs/subvolume add fs="pool" name="v/x"',
    });
  });

  it("retries transient failures of changes, and dropped reads, but not dropped changes", async () => {
    const dropped = new RdsError("outcome-unknown", "dropped");
    const t = new ScriptedTransport(["failure: disk is busy\r\n", "", dropped, "[]\r\n", dropped]);
    const client = new RdsClient(t, { ...fastRetries, listingForm: "json" });
    await client.removeDisk("pvc-1");
    expect(await client.getDisk("pvc-1")).toBeNull();
    await expect(client.removeDisk("pvc-1")).rejects.toMatchObject({ kind: "outcome-unknown" });
    expect(t.sent).toHaveLength(5);
  });

  it("refuses invalid input before sending", async () => {
    const t = new ScriptedTransport([]);
    const client = new RdsClient(t, { listingForm: "json" });
    await expect(client.getDisk("PVC;reboot")).rejects.toMatchObject({ kind: "invalid-input" });
    await expect(client.getFile("pool/../etc")).rejects.toMatchObject({ kind: "invalid-input" });
    await expect(client.listFiles({ namePrefix: 'x"y' })).rejects.toMatchObject({ kind: "invalid-input" });
    await expect(
      client.snapshotSubvolume({ fs: "po ol", source: "a", target: "b", readOnly: true }),
    ).rejects.toMatchObject({
      kind: "invalid-input",
    });
    expect(t.sent).toHaveLength(0);
  });
});
