import { describe, expect, it } from "vitest";
import { isReadOnly, MountTable, parseMountInfo } from "../../src/node/mountinfo.js";
import { splitDeviceNumber } from "../../src/node/volume-path.js";

const SAMPLE = [
  "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  "41 22 7:3 / /var/lib/kubelet/plugins/staging/pv1/fs rw,noatime shared:30 - ext4 /dev/loop3 rw",
  "42 22 7:3 / /var/lib/kubelet/pods/p1/volumes/pv1/mount ro,noatime shared:30 - ext4 /dev/loop3 rw",
  "43 22 0:5 /loop4 /var/lib/kubelet/plugins/staging/pv2/block rw,nosuid shared:2 - devtmpfs udev rw,size=4k",
  "44 22 7:5 / /mnt/with\\040space\\011tab rw master:3 unbindable - xfs /dev/loop5 rw,nouuid",
  "45 22 7:6 / /mnt/stacked rw - ext4 /dev/loop6 rw",
  "46 45 7:7 / /mnt/stacked rw - ext4 /dev/loop7 rw",
  "garbage line without separator",
].join("\n");

describe("mountinfo", () => {
  const entries = parseMountInfo(SAMPLE);
  const table = new MountTable(entries);

  it("parses fields, optional tags and the super options", () => {
    expect(entries).toHaveLength(7);
    expect(entries[1]).toEqual({
      mountId: 41,
      parentId: 22,
      device: "7:3",
      root: "/",
      mountPoint: "/var/lib/kubelet/plugins/staging/pv1/fs",
      mountOptions: ["rw", "noatime"],
      fsType: "ext4",
      source: "/dev/loop3",
      superOptions: ["rw"],
    });
  });

  it("unescapes octal escapes in paths and handles several optional fields", () => {
    expect(table.at("/mnt/with space\ttab")?.fsType).toBe("xfs");
  });

  it("finds every mount of a device, including binds", () => {
    expect(table.ofDevice("7:3").map((e) => e.mountPoint)).toEqual([
      "/var/lib/kubelet/plugins/staging/pv1/fs",
      "/var/lib/kubelet/pods/p1/volumes/pv1/mount",
    ]);
  });

  it("returns the top-most of stacked mounts and counts them", () => {
    expect(table.at("/mnt/stacked")?.source).toBe("/dev/loop7");
    expect(table.countAt("/mnt/stacked")).toBe(2);
    expect(table.at("/mnt/none")).toBeUndefined();
  });

  it("reads the per-mount read-only flag, not the superblock's", () => {
    expect(isReadOnly(table.at("/var/lib/kubelet/pods/p1/volumes/pv1/mount")!)).toBe(true);
    expect(isReadOnly(table.at("/var/lib/kubelet/plugins/staging/pv1/fs")!)).toBe(false);
  });

  it("shows a bound device node as the devtmpfs with the node as root", () => {
    const e = table.at("/var/lib/kubelet/plugins/staging/pv2/block");
    expect(e?.root).toBe("/loop4");
    expect(e?.fsType).toBe("devtmpfs");
  });
});

describe("device numbers", () => {
  it("splits stat rdev values the way glibc encodes them", () => {
    expect(splitDeviceNumber(0x0703n)).toBe("7:3");
    expect(splitDeviceNumber((259n << 8n) | 1n)).toBe("259:1");
    // Minor numbers above 255 spill into bits 20 and up.
    expect(splitDeviceNumber((7n << 8n) | (0x1n << 20n) | 0x2n)).toBe("7:258");
  });
});
