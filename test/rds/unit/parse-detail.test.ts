import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRdsError } from "../../../src/rds/errors.js";
import { parseDetail, parseLegend } from "../../../src/rds/parse/detail.js";
import { decodeDisk, decodeFile, decodePoolCapacity } from "../../../src/rds/records.js";
import {
  FILE_DETAIL_DOC,
  type LaidOutItem,
  MID_TOKEN_PATH_SPLIT,
  RDS_FILE_DISK_CAPTURE,
  RDS_RAID_CAPTURE,
  renderDetail,
} from "./layouts.js";

describe("parseDetail on captured layouts", () => {
  it("reads the RDS2216 file-disk capture", () => {
    const [item, ...rest] = parseDetail(RDS_FILE_DISK_CAPTURE);
    expect(rest).toHaveLength(0);
    expect(item!.index).toBe(31);
    expect(item!.flags).toEqual(["B", "t"]);
    expect(item!.flagNames).toEqual(["block-device", "nvme-tcp-export"]);
    const p = item!.properties;
    expect(p.get("slot")).toBe("vm-storage-001");
    expect(p.get("slot-default")).toBe("");
    expect(p.get("size")).toBe("1 099 511 627 776");
    expect(p.get("nvme-tcp-server-nqn")).toBe("nqn.2026-09.com.mikrotik:rds2216.vm-storage-001");
    expect(p.get("file-offset")).toBe("0");
    expect(p.size).toBe(25);
    expect(decodeDisk(item!)).toEqual({
      id: null,
      slot: "vm-storage-001",
      type: "file",
      filePath: "/raid10/vm-storage-001.img",
      fileSize: 1_099_511_627_776n,
      size: 1_099_511_627_776n,
      nvmeExport: true,
      nvmePort: 4420,
      nqn: "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001",
      allowHostName: "",
      disabled: false,
      comment: null,
    });
  });

  it("reads several items with flag columns and a blank-with-space separator", () => {
    const items = parseDetail(RDS_RAID_CAPTURE);
    expect(items.map((i) => i.index)).toEqual([26, 27]);
    expect(items[0]!.flagNames).toEqual(["block-device", "mounted"]);
    expect(items[1]!.flagNames).toEqual(["block-device", "raid-member"]);
    expect(items[0]!.properties.get("state")).toBe("clean");
    expect(items[1]!.properties.get("raid-member-state")).toBe("0:in_sync");
    expect(decodePoolCapacity(items[0]!)).toEqual({ size: 16_003_143_565_312n, free: 14_789_895_307_264n });
  });

  it("reads /file detail with unquoted values holding spaces", () => {
    const [dir, file] = parseDetail(FILE_DETAIL_DOC);
    expect(dir!.properties.get("type")).toBe("disk");
    expect(file!.properties.get("type")).toBe(".json file");
    expect(file!.properties.get("last-modified")).toBe("2024-11-25 13:10:52");
    expect(decodeFile(file!)).toEqual({
      id: null,
      name: "flash/skins/newskin.json",
      type: ".json file",
      size: 0n,
      lastModified: new Date("2024-11-25T13:10:52Z"),
    });
  });

  it("glues a path cut mid-token back together", () => {
    const [item] = parseDetail(MID_TOKEN_PATH_SPLIT);
    expect(item!.properties.get("file-path")).toBe(
      "/storage-pool/metal-csi/pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f.img",
    );
    expect(decodeDisk(item!).fileSize).toBe(53_687_091_200n);
  });

  it("reads a comment line and a disabled flag", () => {
    const text = renderDetail(
      "Flags: X - DISABLED; B - BLOCK-DEVICE",
      [
        {
          index: 3,
          flags: "XB",
          comment: "scratch; do not use",
          tokens: ["type=file", 'slot="pvc-3"', "file-size=10.0MiB"],
        },
      ],
      80,
    );
    const disk = decodeDisk(parseDetail(text)[0]!);
    expect(disk.comment).toBe("scratch; do not use");
    expect(disk.disabled).toBe(true);
    expect(disk.fileSize).toBe(10n * 1024n * 1024n);
  });

  it("returns nothing for empty output, and for a legend without items", () => {
    expect(parseDetail("")).toEqual([]);
    expect(parseDetail("Flags: X - DISABLED\r\n")).toEqual([]);
  });

  it("parses mutually exclusive legend entries", () => {
    expect([...parseLegend(" X - DISABLED; M, F - FORMATTING")]).toEqual([
      ["X", "disabled"],
      ["F", "formatting"],
    ]);
  });
});

const key = fc.constantFrom(
  "type",
  "slot",
  "model",
  "file-path",
  "size",
  "nvme-tcp-server-nqn",
  "name",
  "parent",
  "x-y",
);
const quotedText = fc.string({ maxLength: 90 }).map((s) => s.replace(/[\u0000-\u001f\u007f]/g, "?"));
const printedValue = fc.oneof(
  quotedText.map((s) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`),
  fc.bigInt({ min: 0n, max: 10n ** 15n }).map((n) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, " ")),
  fc.stringMatching(/^\/[a-z0-9-]{1,20}(\/[a-z0-9.-]{1,40}){0,4}$/),
  fc.constantFrom("yes", "no", "-", "none", "50.0GiB"),
);
const item = fc.record({
  flags: fc.constantFrom("  ", "B ", "Bt", " t"),
  tokens: fc.uniqueArray(fc.tuple(key, printedValue), { selector: (t) => t[0], minLength: 1, maxLength: 9 }),
});

describe("parseDetail on wrapped layouts", () => {
  it("property: any width gives the same items as no wrapping", () => {
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 60, max: 200 }),
        (raw, width) => {
          const items: LaidOutItem[] = raw.map((r, i) => ({
            index: i * 7,
            flags: r.flags,
            tokens: r.tokens.map(([k, v]) => `${k}=${v}`),
          }));
          const legend = "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT";
          const flat = parseDetail(renderDetail(legend, items, null));
          expect(parseDetail(renderDetail(legend, items, width))).toEqual(flat);
          // Trailing spaces lost in transit: `key=` at a line start still tells wrapped from cut, as
          // long as no value has inner spaces (a cut just after one is then indistinguishable).
          if (items.every((i) => i.tokens.every((t) => !t.includes(" ")))) {
            const stripped = renderDetail(legend, items, width).replace(/ +\r\n/g, "\r\n");
            expect(parseDetail(stripped)).toEqual(flat);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads the capture re-wrapped at 80 columns", () => {
    const legend = "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT";
    const logical = RDS_FILE_DISK_CAPTURE.split("\r\n")
      .slice(1)
      .map((l) => l.trim())
      .join(" ")
      .replace(/^31 Bt /, "");
    const tokens = [...logical.matchAll(/[a-z-]+=("[^"]*"|[^ ]+( \d{3})*)/g)].map((m) => m[0]);
    const wrapped = renderDetail(legend, [{ index: 31, flags: "Bt", tokens }], 80);
    expect(wrapped.split("\r\n").every((l) => l.length <= 80)).toBe(true);
    expect(parseDetail(wrapped)).toEqual(parseDetail(RDS_FILE_DISK_CAPTURE));
  });
});

describe("parseDetail on hostile input", () => {
  it("reports an unterminated quote as a protocol error", () => {
    expect(() => parseDetail(' 0   slot="abc\r\n')).toThrowError(
      expect.objectContaining({ kind: "protocol" }),
    );
  });

  it("refuses table output and stray lines", () => {
    expect(() => parseDetail("Columns: NAME, TYPE\r\n# NAME TYPE\r\n")).toThrowError(
      expect.objectContaining({ kind: "protocol" }),
    );
  });

  it("property: arbitrary text either parses or raises a protocol error", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(" ", "=", '"', "\\", "a", "1", "\r\n", ";", "F", "X"),
          maxLength: 300,
        }),
        (text) => {
          try {
            parseDetail(text);
          } catch (err) {
            expect(isRdsError(err, "protocol")).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("stays linear on large pathological input", () => {
    // Each shape defeats a naive backtracking tokenizer: long runs of spaces between non-keys,
    // endless quoted escapes, and a million-character bare value.
    const inputs = [
      ` 0 a=${"x ".repeat(200_000)}`,
      ` 0 a="${"\\\\".repeat(200_000)}"`,
      ` 0 a=${"1".repeat(1_000_000)}`,
      ` 0 ${"a-".repeat(200_000)}=1`,
    ];
    for (const input of inputs) expect(parseDetail(input)).toHaveLength(1);
  });
});
