import { describe, expect, it } from "vitest";
import {
  addCommand,
  countCommand,
  findWhere,
  getValueCommand,
  hexRangeParts,
  pathPatternMatcher,
  printAsValueCommand,
  printDetailCommand,
  printJsonCommand,
  removeCommand,
  setCommand,
  value,
  where,
} from "../../../src/rds/command.js";
import { isRdsError } from "../../../src/rds/errors.js";
import { diskFilePath, fileName, samePath } from "../../../src/rds/paths.js";
import { isVolumeId, snapshotIdFor, volumeIdFor } from "../../../src/storage/ids.js";

describe("command builder", () => {
  it("builds /disk add with quoted paths and NQN, bare ids and booleans, and skips absent arguments", () => {
    const cmd = addCommand("/disk", [
      ["type", value.word("file")],
      ["slot", value.id("pvc-1")],
      ["file-path", value.string(diskFilePath("pool/rds-csi/vols/pvc-1/disk.img"))],
      ["file-size", value.integer(1073741824n)],
      ["nvme-tcp-export", value.bool(true)],
      ["nvme-tcp-server-nqn", value.string("nqn.2000-02.com.mikrotik:pvc-1")],
      ["comment", undefined],
    ]);
    expect(cmd).toEqual({
      line:
        '/disk add type=file slot=pvc-1 file-path="/pool/rds-csi/vols/pvc-1/disk.img" file-size=1073741824 ' +
        'nvme-tcp-export=yes nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-1"',
      mutating: true,
    });
  });

  it("targets items with [find where …] and always quotes where values", () => {
    expect(
      setCommand("/disk", findWhere(where.eq("slot", "pvc-1")), [["file-size", value.integer(5n)]]).line,
    ).toBe('/disk set [find where slot="pvc-1"] file-size=5');
    expect(removeCommand("/file", findWhere(where.eq("name", "pool/a b$c"))).line).toBe(
      '/file remove [find where name="pool/a b\\$c"]',
    );
  });

  it("matches prefixes literally, without backslashes", () => {
    expect(printDetailCommand("/disk/btrfs/subvolume", where.startsWith("fullname", "vols/pvc.1")).line).toBe(
      '/disk/btrfs/subvolume print detail where fullname~"^vols/pvc[.]1"',
    );
    expect(() => where.startsWith("slot", "a|b")).toThrow();
  });

  it("combines conditions with parentheses", () => {
    const c = where.and(where.eq("fs", "pool"), where.eq("fullname", "vols/x"));
    expect(printDetailCommand("/disk/btrfs/subvolume", c).line).toBe(
      '/disk/btrfs/subvolume print detail where (fs="pool") and (fullname="vols/x")',
    );
  });

  it("wraps listings for as-value and JSON, and single values with :put", () => {
    const c = where.eq("slot", "pvc-1");
    expect(printAsValueCommand("/disk", c)).toEqual({
      line: ':put [/disk print detail as-value where slot="pvc-1"]',
      mutating: false,
    });
    expect(printJsonCommand("/disk", c).line).toBe(
      ':put [:serialize to=json [/disk print detail as-value where slot="pvc-1"]]',
    );
    expect(getValueCommand("/system/resource", "version").line).toBe(":put [/system/resource get version]");
    expect(getValueCommand("/file", "size", findWhere(where.eq("name", "p/x"))).line).toBe(
      ':put [/file get [find where name="p/x"] size]',
    );
  });

  it("refuses unsafe words, ids, numbers and property names before anything is built", () => {
    const refusals = [
      () => value.id("pvc-1;/system reboot"),
      () => value.integer(-1n),
      () => value.integer(1.5),
      () => where.eq("slot=x or name", "y"),
      () => addCommand("/disk", [["bad name", value.bool(true)]]),
      () => value.string("x\ny"),
    ];
    for (const fn of refusals) {
      let error: unknown;
      try {
        fn();
      } catch (err) {
        error = err;
      }
      expect(isRdsError(error, "invalid-input")).toBe(true);
    }
  });

  it("quotes words only when they leave the safe set", () => {
    expect(value.word("file").text).toBe("file");
    expect(value.word("a b").text).toBe('"a b"');
  });
});

describe("paths", () => {
  it("gives /disk a leading slash and /file none, from either form", () => {
    expect(diskFilePath("pool/a/disk.img")).toBe("/pool/a/disk.img");
    expect(diskFilePath("/pool/a/disk.img")).toBe("/pool/a/disk.img");
    expect(fileName("/pool/a/disk.img")).toBe("pool/a/disk.img");
    expect(fileName("pool/a/disk.img")).toBe("pool/a/disk.img");
    expect(samePath("/pool/a", "pool/a")).toBe(true);
    expect(samePath("/pool/a", "pool/b")).toBe(false);
  });
});

describe("ranges of hex ids", () => {
  const HEX = "0123456789abcdef";
  const strings = (digits: number): string[] =>
    digits === 0 ? [""] : strings(digits - 1).flatMap((s) => [...HEX].map((c) => s + c));

  it("matches exactly the strings between its bounds, as a prefix", () => {
    // Bounds spread over the space, with the edges and runs that cross 9–a.
    const cases: Array<[string[], string[]]> = [
      [strings(2), ["00", "01", "09", "0a", "0f", "3c", "9f", "a0", "fe", "ff"]],
      [strings(3), ["000", "0a0", "3c7", "9ff", "c3e", "fff"]],
    ];
    for (const [all, bounds] of cases) {
      for (const from of bounds) {
        for (const to of bounds) {
          if (from > to) continue;
          const re = new RegExp(`^(${hexRangeParts(from, to).join("|")})`);
          const wrong = all.filter((s) => re.test(`${s}-rest`) !== (s >= from && s <= to));
          expect(wrong, `${from}..${to}`).toEqual([]);
        }
      }
    }
  });

  it("builds a where of hex digits and classes only, and refuses bad bounds", () => {
    expect(where.hexRange("name", "snap-", "0a3f", "0b00").text).toBe('name~"^snap-(0a3f|0a[4-9a-f]|0b00)"');
    expect(where.hexRange("name", "snap-", "0000", "ffff").text).toBe('name~"^snap-[0-9a-f]"');
    for (const [from, to] of [
      ["0b", "0a"],
      ["0a", "0ab"],
      ["0A", "0b"],
      ["", ""],
      ["0)", "0b"],
    ] as const) {
      expect(() => where.hexRange("name", "snap-", from, to), `${from}..${to}`).toThrow();
    }
  });

  it("builds a path pattern of literal names, any one name and hex ranges, and matches what it sends", () => {
    const components = [
      { literal: "raid1" },
      { literal: "snaps.d" },
      { any: true as const },
      { hexRange: { prefix: "snap-", from: "0a3f", to: "0b00" } },
      { literal: "disk.img" },
    ];
    expect(where.pathPattern("name", components).text).toBe(
      'name~"^raid1/snaps[.]d/[^/]+/snap-(0a3f|0a[4-9a-f]|0b00)[^/]*/disk[.]img"',
    );
    const matches = pathPatternMatcher(components);
    expect(matches("raid1/snaps.d/pvc-1/snap-0a40-x/disk.img")).toBe(true);
    expect(matches("raid1/snaps.d/pvc-1/snap-0a3f/disk.img")).toBe(true);
    expect(matches("raid1/snaps.d/pvc-1/snap-0b01/disk.img")).toBe(false);
    expect(matches("raid1/snaps.d/pvc-1/x/snap-0a40/disk.img")).toBe(false);
    expect(matches("raid1/snapsxd/pvc-1/snap-0a40/disk.img")).toBe(false);
    expect(matches("raid1/snaps.d/pvc-1/snap-0a40/disk-img")).toBe(false);
    for (const bad of [[{ literal: "a/b" }], [{ literal: 'a"' }], [{ literal: "" }], []]) {
      expect(() => where.pathPattern("name", bad), JSON.stringify(bad)).toThrow();
    }
  });

  it("counts with :len over find, printing nothing else", () => {
    expect(countCommand("/disk/btrfs/subvolume", where.startsWith("fullname", "a/")).line).toBe(
      ':put [:len [/disk/btrfs/subvolume find where fullname~"^a/"]]',
    );
  });
});

describe("paths of driver ids", () => {
  /** The regex a `pathOfIds` condition sends, as RouterOS reads it (quotes and escapes undone). */
  const regexOf = (text: string) => {
    const quoted = text.slice(text.indexOf("~") + 1);
    return new RegExp(quoted.slice(1, -1).replace(/\\(.)/g, "$1"));
  };

  it("matches exactly `<base>/<prefix><uuid v5>…`, with or without a leading slash", () => {
    const volume = volumeIdFor("a");
    const snapshot = snapshotIdFor("b");
    const volumes = regexOf(where.pathOfIds("fullname", "rds-csi/vols", ["pvc-"]).text);
    const snapshots = regexOf(where.pathOfIds("fullname", "/rds-csi/snaps/", ["pvc-", "snap-"]).text);
    expect(volumes.test(`rds-csi/vols/${volume}`)).toBe(true);
    expect(volumes.test(`/rds-csi/vols/${volume}`)).toBe(true);
    expect(snapshots.test(`rds-csi/snaps/${volume}/${snapshot}`)).toBe(true);
    for (const other of [
      `rds-csi/vols/${volume}/inner`,
      `rds-csi/vols/${volume.toUpperCase()}`,
      `rds-csi/vols/${snapshot}`,
      `rds-csi/vols/pvc-${volume.slice(4).replace(/-5/, "-4")}`,
      `rds-csi-x/vols/${volume}`,
      `x/rds-csi/vols/${volume}`,
      `rds-csixvols/${volume}`,
    ]) {
      expect(volumes.test(other), other).toBe(false);
    }
    expect(snapshots.test(`rds-csi/snaps/${volume}`)).toBe(false);
    expect(snapshots.test(`rds-csi/snaps/${volume}/${snapshot}/x`)).toBe(false);
    expect(snapshots.test(`rds-csi/snaps/${snapshot}/${volume}`)).toBe(false);
  });

  it("agrees with the driver's own id checks on many ids", () => {
    const volumes = regexOf(where.pathOfIds("fullname", "r", ["pvc-"]).text);
    for (let i = 0; i < 500; i++) {
      const id = volumeIdFor(`name-${i}`);
      expect(volumes.test(`r/${id}`)).toBe(isVolumeId(id));
      // One character replaced by a hex digit or "g": still an id in some places (a plain digit),
      // not in others (a dash, the version or variant digit, a non-hex letter).
      const at = 4 + (i % 36);
      const changed = `${id.slice(0, at)}${"0123456789abcdefg"[(i * 7) % 17]}${id.slice(at + 1)}`;
      expect(volumes.test(`r/${changed}`), changed).toBe(isVolumeId(changed));
    }
  });

  it("sends no `{n}` bounds and refuses an empty list of ids", () => {
    expect(where.pathOfIds("fullname", "r", ["pvc-"]).text).not.toMatch(/[{}]/);
    expect(() => where.pathOfIds("fullname", "r", [])).toThrow();
  });
});
