import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { change } from "../../../src/rds/changes.js";
import { RdsClient, type RdsClientOptions } from "../../../src/rds/client.js";
import { BATCH_SEPARATOR, batchCommand, splitBatchReply } from "../../../src/rds/command.js";
import { RdsError } from "../../../src/rds/errors.js";
import { query } from "../../../src/rds/queries.js";
import type { CommandTransport } from "../../../src/rds/runner.js";
import { listCommand } from "../../../src/rds/runner.js";
import { CRLF, MID_TOKEN_PATH_SPLIT, renderDetail } from "./layouts.js";

/** A scripted transport: answers exec lines in order and records them. */
class ScriptedTransport implements CommandTransport {
  readonly sent: string[] = [];
  constructor(private readonly replies: Array<string | RdsError>) {}
  async exec(line: string) {
    this.sent.push(line);
    const reply = this.replies.shift();
    if (reply === undefined) throw new Error(`unexpected command: ${line}`);
    if (reply instanceof RdsError) throw reply;
    return { stdout: reply, stderr: "", exitCode: 0 };
  }
}

const fast: RdsClientOptions = { retryBackoff: { initialMs: 1, maxMs: 2 } };
const SEP_LINE = `${BATCH_SEPARATOR}${CRLF}`;
const batched = (...parts: string[]) => parts.join(SEP_LINE);

const subvolumeJson = (fullname: string) =>
  `[{".id":"*9","fs":"pool","name":"${fullname.split("/").pop()}","fullname":"${fullname}","read-only":true}]${CRLF}`;
const subvolumeAsValue = (fullname: string) =>
  `.id=*9;fs=pool;fullname=${fullname};name=${fullname.split("/").pop()};read-only=true${CRLF}`;

describe("batch lines", () => {
  it("joins commands with a separator, built only from builder commands", () => {
    const line = batchCommand([
      change.removeDisk("pvc-1").command,
      { line: ":put [/system/resource get version]", mutating: false },
    ]);
    expect(line).toEqual({
      line: `/disk remove [find where slot="pvc-1"]; :put "${BATCH_SEPARATOR}"; :put [/system/resource get version]`,
      mutating: true,
    });
    expect(() => batchCommand([])).toThrow(RdsError);
  });

  it("splits replies at separator lines only, CRLF or LF", () => {
    expect(splitBatchReply(`a${CRLF}${SEP_LINE}${CRLF}${SEP_LINE}b\n`)).toEqual(["a\r", "\r", "b\n"]);
    // A value that merely contains the separator text is not a separator line.
    expect(splitBatchReply(` 0 comment="${BATCH_SEPARATOR}"${CRLF}`)).toHaveLength(1);
  });
});

describe("RdsClient.read", () => {
  it("reads several listings in one exec, in JSON", async () => {
    const t = new ScriptedTransport([batched(subvolumeJson("c/snaps/pvc-1/snap-1"), `[]${CRLF}`)]);
    const client = new RdsClient(t, { listingForm: "json" });
    const [named, disk] = await client.read([
      query.subvolumesNamed("snap-1", { fs: "pool" }),
      query.disk("pvc-1"),
    ]);
    expect(named.map((s) => s.fullname)).toEqual(["c/snaps/pvc-1/snap-1"]);
    expect(disk).toBeNull();
    expect(t.sent).toEqual([
      ':put [:serialize to=json [/disk/btrfs/subvolume print detail as-value where ((fs="pool") or (fs=[/disk/btrfs/filesystem get [find where label="pool"] uuid])) and (name="snap-1")]]; ' +
        `:put "${BATCH_SEPARATOR}"; :put [:serialize to=json [/disk print detail as-value where slot="pvc-1"]]`,
    ]);
  });

  it("splits as-value replies, empty ones included", async () => {
    const t = new ScriptedTransport([batched(CRLF, subvolumeAsValue("c/v/pvc-1"), CRLF)]);
    const client = new RdsClient(t, { listingForm: "as-value" });
    const [none, one, empty] = await client.read([
      query.subvolumes({ fullnamePrefix: "c/snaps/" }),
      query.subvolume("c/v/pvc-1"),
      query.disks({ slotPrefix: "pvc-" }),
    ]);
    expect(none).toEqual([]);
    expect(one?.fullname).toBe("c/v/pvc-1");
    expect(empty).toEqual([]);
  });

  it("splits print detail replies, wrapped lines and legends included", async () => {
    const fullname = "c/snaps/pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f/snap-1";
    const tokens = ['fs="pool"', 'name="snap-1"', `fullname="${fullname}"`, "read-only=yes"];
    // Laid out at 40 columns, so the fullname is cut across lines.
    const subvolumes = `${renderDetail("Flags: S - SNAPSHOT; r - READ-ONLY", [{ index: 0, flags: "Sr", tokens }], 40)}${CRLF}`;
    expect(subvolumes.split(CRLF).length).toBeGreaterThan(4);
    const t = new ScriptedTransport([
      batched(subvolumes, `${MID_TOKEN_PATH_SPLIT}${CRLF}`, `Flags: X - DISABLED${CRLF}`),
    ]);
    const client = new RdsClient(t, { listingForm: "detail" });
    const [snaps, disk, none] = await client.read([
      query.subvolumes({ fullnamePrefix: "c/snaps/" }),
      query.disk("pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f"),
      query.disks({ slotPrefix: "pvc-" }),
    ]);
    expect(snaps.map((s) => [s.fullname, s.readOnly])).toEqual([[fullname, true]]);
    expect(disk?.filePath).toBe("/storage-pool/metal-csi/pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f.img");
    expect(none).toEqual([]);
    expect(t.sent[0]).toBe(
      '/disk/btrfs/subvolume print detail where fullname~"^/\\?c/snaps/"; ' +
        `:put "${BATCH_SEPARATOR}"; /disk print detail where slot="pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f"; ` +
        `:put "${BATCH_SEPARATOR}"; /disk print detail where slot~"^pvc-"`,
    );
  });

  it("asks print detail's rounded file sizes in one more exec for all of them", async () => {
    const files = [
      " 0 name=pool/a/disk.img type=.img file size=50.0GiB last-modified=2026-01-01 00:00:00 ",
      " 1 name=pool/b/disk.img type=.img file size=2.0GiB last-modified=2026-01-01 00:00:00 ",
      "",
    ].join(CRLF);
    const t = new ScriptedTransport([files, batched(`53687091200${CRLF}`, `2147483648${CRLF}`)]);
    const client = new RdsClient(t, { listingForm: "detail" });
    const [found] = await client.read([query.filesNamed(["/pool/a/disk.img", "pool/b/disk.img"])]);
    expect(found.map((f) => f.size)).toEqual([50n * 1024n ** 3n, 2n * 1024n ** 3n]);
    expect(t.sent[0]).toBe(
      '/file print detail proplist=name,type,size,last-modified where (name="pool/a/disk.img") or (name="pool/b/disk.img")',
    );
    expect(t.sent).toHaveLength(2);
  });

  it("throws an error in the middle of a batch, and retries a transient one", async () => {
    const t = new ScriptedTransport([
      batched(`[]${CRLF}`, `failure: no such item${CRLF}`),
      batched(`[]${CRLF}`, `failure: resource busy, try again${CRLF}`),
      batched(`[]${CRLF}`, `[]${CRLF}`),
    ]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    const reads = [query.disk("pvc-1"), query.subvolume("c/v/pvc-1")] as const;
    await expect(client.read(reads)).rejects.toMatchObject({
      kind: "not-found",
      command:
        ':put [:serialize to=json [/disk/btrfs/subvolume print detail as-value where (fullname="c/v/pvc-1") or (fullname="/c/v/pvc-1")]]',
    });
    expect(await client.read(reads)).toEqual([null, null]);
    expect(t.sent).toHaveLength(3);
  });

  it("refuses a reply with replies missing and no error", async () => {
    const t = new ScriptedTransport([`[]${CRLF}`]);
    const client = new RdsClient(t, { listingForm: "json" });
    await expect(client.read([query.disk("pvc-1"), query.disk("pvc-2")])).rejects.toMatchObject({
      kind: "protocol",
    });
  });
});

describe("RdsClient.apply", () => {
  const snapshot = change.snapshotSubvolume({
    fs: "pool",
    source: "c/v/pvc-1",
    target: "c/s/snap-1",
    readOnly: true,
  });

  it("sends a change, its read-back and more reads in one exec", async () => {
    const image = `[{".id":"*3","name":"pool/c/s/snap-1/disk.img","type":".img file","size":4194304}]${CRLF}`;
    const t = new ScriptedTransport([batched("", subvolumeJson("c/s/snap-1"), image)]);
    const client = new RdsClient(t, { listingForm: "json" });
    const [sub, file] = await client.apply(snapshot, [query.file("/pool/c/s/snap-1/disk.img")]);
    expect(sub.readOnly).toBe(true);
    expect(file?.size).toBe(4194304n);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]).toMatch(/^\/disk\/btrfs\/subvolume add .* read-only=yes; :put "/);
  });

  it("classifies a refused change with the one classifier, and retries it only when transient", async () => {
    const t = new ScriptedTransport([
      `failure: already exists${CRLF}`,
      `failure: device busy${CRLF}`,
      batched("", subvolumeJson("c/s/snap-1")),
    ]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    await expect(client.apply(snapshot, [])).rejects.toMatchObject({
      kind: "already-exists",
      command: '/disk/btrfs/subvolume add fs="pool" parent="c/v/pvc-1" name="c/s/snap-1" read-only=yes',
    });
    expect((await client.apply(snapshot, []))[0].fullname).toBe("c/s/snap-1");
    expect(t.sent).toHaveLength(3);
  });

  it("never re-sends the change after an unknown outcome", async () => {
    const t = new ScriptedTransport([new RdsError("outcome-unknown", "dropped")]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    await expect(client.apply(snapshot, [])).rejects.toMatchObject({ kind: "outcome-unknown" });
    expect(t.sent).toHaveLength(1);
  });

  it("reads again, on their own, when a read after a successful change failed", async () => {
    const t = new ScriptedTransport([
      batched("", `failure: timeout${CRLF}`),
      batched(subvolumeJson("c/s/snap-1"), `[]${CRLF}`),
    ]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    const [sub, file] = await client.apply(snapshot, [query.file("pool/c/s/snap-1/disk.img")]);
    expect(sub.fullname).toBe("c/s/snap-1");
    expect(file).toBeNull();
    expect(t.sent[1]).not.toMatch(/ add /);
  });

  it("sends a follow-up change last in the line and reports its outcome without throwing", async () => {
    const folder = change.addDirectory("/pool/c/s/pvc-1");
    const outcomes: unknown[] = [];
    const then = { change: folder, outcome: (r: unknown) => outcomes.push(r) };
    const t = new ScriptedTransport([
      batched("", subvolumeJson("c/s/snap-1"), ""),
      batched("", subvolumeJson("c/s/snap-1"), `failure: file already exists${CRLF}`),
      batched("", `failure: timeout${CRLF}`),
      subvolumeJson("c/s/snap-1"),
    ]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    expect((await client.apply(snapshot, [], {}, then))[0].fullname).toBe("c/s/snap-1");
    expect(t.sent[0]).toMatch(/ read-only=yes; .*; \/file add name="\/pool\/c\/s\/pvc-1" type=directory$/);
    expect((await client.apply(snapshot, [], {}, then))[0].fullname).toBe("c/s/snap-1");
    // A read-back that failed stopped the line before the follow-up: read again, follow-up not run.
    expect((await client.apply(snapshot, [], {}, then))[0].fullname).toBe("c/s/snap-1");
    expect(outcomes[0]).toBe("done");
    expect(outcomes[1]).toMatchObject({ kind: "already-exists" });
    expect(outcomes[2]).toBe("not-run");
    expect(t.sent).toHaveLength(4);
  });

  it("reads first, then a change: the reads answer even when the change fails for good", async () => {
    const make = change.createSubvolume({ fs: "pool", fullname: "c/v/pvc-1" });
    const reads = [query.disk("pvc-1")] as const;
    const t = new ScriptedTransport([
      batched(`[]${CRLF}`, "", subvolumeJson("c/v/pvc-1")),
      batched(`[]${CRLF}`, `failure: subvolume already exists${CRLF}`),
      batched(`[]${CRLF}`, `failure: device busy${CRLF}`),
      batched(`[]${CRLF}`, "", subvolumeJson("c/v/pvc-1")),
    ]);
    const client = new RdsClient(t, { ...fast, listingForm: "json" });
    const made = await client.readThenApply(reads, make);
    expect(made.reads).toEqual([null]);
    expect(made.change).toMatchObject({ result: { fullname: "c/v/pvc-1" } });
    expect(t.sent[0]).toMatch(
      /^:put .*\/disk print .*; \/disk\/btrfs\/subvolume add fs="pool" name="c\/v\/pvc-1"; /,
    );
    const refused = await client.readThenApply(reads, make);
    expect(refused.reads).toEqual([null]);
    expect(refused.change).toMatchObject({ error: { kind: "already-exists" } });
    // A transient refusal is retried as before: the line is sent again.
    expect((await client.readThenApply(reads, make)).change).toMatchObject({
      result: { fullname: "c/v/pvc-1" },
    });
    expect(t.sent).toHaveLength(4);
  });

  it("removes and reads in one exec", async () => {
    const t = new ScriptedTransport([batched("", `[]${CRLF}`)]);
    const client = new RdsClient(t, { listingForm: "json" });
    const [, remaining] = await client.apply(change.removeSubvolume("c/s/snap-1", { fs: "pool" }), [
      query.subvolumes({ fullnamePrefix: "c/s/", fs: "pool", proplist: ["name"] }),
    ]);
    expect(remaining).toEqual([]);
    expect(t.sent[0]).toContain("print detail as-value proplist=name,fullname where");
  });
});

describe("what /file listings ask for", () => {
  it("every /file query names its properties (a listing without proplist carries small files' contents)", () => {
    const fileQueries = [
      query.file("/pool/a/disk.img"),
      query.files({ namePrefix: "pool/a/" }),
      query.filesNamed(["pool/a/disk.img", "pool/b/disk.img"]),
    ];
    for (const q of fileQueries) {
      expect(q.menu).toBe("/file");
      expect(q.proplist).toEqual(["name", "type", "size", "last-modified"]);
      for (const form of ["json", "detail"] as const) {
        expect(listCommand(q.menu, q.condition, form, q.proplist).line).toContain(
          "proplist=name,type,size,last-modified",
        );
      }
      // as-value records are told apart by `.id`, so it is always asked for.
      expect(listCommand(q.menu, q.condition, "as-value", q.proplist).line).toContain(
        "proplist=.id,name,type,size,last-modified",
      );
    }
  });
});

describe("splitBatchReply on large and odd replies", () => {
  /** The line-by-line definition: a line that is the separator (trailing blanks allowed) splits. */
  const byLines = (stdout: string): string[] => {
    const parts: string[] = [];
    let current: string[] = [];
    for (const line of stdout.split("\n")) {
      if (line.replace(/\r$/, "").trimEnd() === BATCH_SEPARATOR) {
        parts.push(current.join("\n"));
        current = [];
      } else current.push(line);
    }
    parts.push(current.join("\n"));
    return parts;
  };

  it("property: agrees with the line-by-line definition", () => {
    const piece = fc.constantFrom(
      "a",
      "\r",
      "\n",
      " ",
      BATCH_SEPARATOR,
      `${BATCH_SEPARATOR} `,
      `x${BATCH_SEPARATOR}`,
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join("");
        expect(splitBatchReply(text)).toEqual(byLines(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("splits a reply of megabytes into its parts", () => {
    const big = `${"x".repeat(100)}\r\n`.repeat(20_000);
    const parts = splitBatchReply(`${big}${SEP_LINE}${big}${SEP_LINE}[]\r\n`);
    expect(parts.map((p) => p.length)).toEqual([big.length - 1, big.length - 1, 4]);
  });
});
