import { describe, expect, it } from "vitest";
import { formatDetail, type PrintRow, type PropValue } from "../../src/sim/printer.js";
import { num, str } from "../../src/sim/values.js";
import { fakeWorld, fileDisk } from "./fake-world.js";

const TiB = 1024n ** 4n;

/** RDS2216 capture (reference §2.3): a 1 TiB LUN at index 31, terminal width 240. */
const CAPTURED_LUN = [
  "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
  '31 Bt type=file slot="vm-storage-001" slot-default="" parent="" fs=- model="/raid10/vm-storage-001.img" size=1 099 511 627 776 mount-filesystem=no mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=yes',
  '      nvme-tcp-server-port=4420 nvme-tcp-server-nqn="nqn.2026-09.com.mikrotik:rds2216.vm-storage-001" nvme-tcp-server-allow-host-name="" iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no',
  "      file-path=/raid10/vm-storage-001.img file-size=1024.0GiB file-offset=0",
];

function rdsWithLunAt31() {
  const fillers = Array.from({ length: 30 }, (_, i) =>
    fileDisk(i + 2, `filler${i}`, `/raid10/filler${i}.img`, 1024n * 1024n),
  );
  const lun = fileDisk(40, "vm-storage-001", "/raid10/vm-storage-001.img", TiB, {
    mountFilesystem: false,
    nvmeTcpExport: true,
    nvmeTcpServerNqn: "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001",
  });
  const pool = { ...fileDisk(1, "raid10", "", 0n), type: "raid" as const, pool: true };
  return fakeWorld({ pool: "raid10", disks: [pool, ...fillers, lun] });
}

describe("print detail layout", () => {
  it("reproduces the captured RDS2216 LUN byte for byte (trailing spaces aside)", async () => {
    const sim = rdsWithLunAt31();
    const out = await sim.run('/disk/print detail where slot="vm-storage-001"', 240);
    const lines = out.split("\n").slice(0, -1);
    expect(lines.map((l) => l.trimEnd())).toEqual(CAPTURED_LUN);
    expect(lines.slice(1).every((l) => l.endsWith(" "))).toBe(true);
  });

  it("wraps at 80 columns with every line at most 80 wide and continuation under the properties", async () => {
    const sim = rdsWithLunAt31();
    const out = await sim.run("/disk print detail where slot=vm-storage-001", 80);
    const lines = out.split("\n").slice(0, -1);
    expect(lines[1]).toBe('31 Bt type=file slot="vm-storage-001" slot-default="" parent="" fs=- ');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines.slice(2).every((l) => l.startsWith("      ") && !l.startsWith("       "))).toBe(true);
    const rejoined = lines
      .slice(1)
      .map((l) => l.trim())
      .join(" ");
    expect(rejoined).toBe(
      CAPTURED_LUN.slice(1)
        .map((l) => l.trim())
        .join(" "),
    );
  });

  it("splits a token longer than a continuation line hard", () => {
    const long = `file-path=/raid1/${"x".repeat(90)}.img`;
    const row: PrintRow = {
      index: 3,
      flags: new Set(["block-device"]),
      props: [{ name: "file-path", value: str(long.slice(10)), style: "bare" }],
    };
    const lines = formatDetail([{ letter: "B", name: "block-device" }], [row], {
      width: 60,
      humanThreshold: 4608,
      separator: " ",
      emptyLegend: false,
    });
    expect(lines[0]).toBe("Flags: B - BLOCK-DEVICE");
    expect(lines.slice(1).every((l) => l.length <= 60)).toBe(true);
    expect(lines[1]?.length).toBe(60);
    expect(lines.slice(2).every((l) => l.startsWith("     "))).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l, i) => (i === 0 ? l.slice(5) : l.slice(5)))
        .join("")
        .trimEnd(),
    ).toBe(long);
  });

  it("lays out flag columns and separators like the captured RAID listing", () => {
    const p = (name: string, text: string): PropValue => ({ name, value: str(text), style: "bare" });
    const rows: PrintRow[] = [
      {
        index: 26,
        flags: new Set(["block-device", "mounted"]),
        props: [p("type", "raid"), p("slot", '"raid10"')],
      },
      { index: 27, flags: new Set(["block-device", "raid-member"]), props: [p("type", "raid")] },
    ];
    const flags = [
      { letter: "B", name: "block-device" },
      { letter: "M", name: "mounted" },
      { letter: "r", name: "raid-member" },
    ];
    const lines = formatDetail(flags, rows, {
      width: 240,
      humanThreshold: 4608,
      separator: " ",
      emptyLegend: false,
    });
    expect(lines).toEqual([
      "Flags: B - BLOCK-DEVICE; M - MOUNTED; r - RAID-MEMBER",
      '26 BM  type=raid slot="raid10" ',
      " ",
      "27 B r type=raid ",
    ]);
  });

  it("shows a comment as ;;; on the item line and the properties below", () => {
    const rows: PrintRow[] = [
      {
        index: 0,
        flags: new Set(),
        comment: "hello",
        props: [{ name: "size", value: num(2048n), style: "grouped" }],
      },
    ];
    expect(
      formatDetail([], rows, { width: 80, humanThreshold: 4608, separator: " ", emptyLegend: false }),
    ).toEqual([" 0 ;;; hello", "   size=2 048 "]);
  });
});

describe("quoted values", () => {
  it("escapes quotes, backslashes and control characters the RouterOS way", async () => {
    const row: PrintRow = {
      index: 0,
      flags: new Set(),
      props: [{ name: "comment", value: str('a"b\\c\nd\te\x01'), style: "quoted" }],
    };
    expect(
      formatDetail([], [row], { width: 0, humanThreshold: 4608, separator: " ", emptyLegend: false }),
    ).toEqual([' 0 comment="a\\"b\\\\c\\nd\\te\\01" ']);
  });
});
