import { describe, expect, it } from "vitest";
import { parseCapability } from "../../src/node/capability.js";
import { parseBlkidExport } from "../../src/node/filesystem.js";
import { parseLosetupJson } from "../../src/node/loop-transport.js";
import { parseVolumeContext } from "../../src/node/transport.js";
import { checkAbsolutePath, checkDevicePath, checkMountFlags } from "../../src/node/validate.js";

const mount = (fs_type = "", mount_flags: string[] = [], mode = "SINGLE_NODE_WRITER") => ({
  mount: { fs_type, mount_flags },
  access_mode: { mode },
});

describe("volume capability", () => {
  it("reads a filesystem capability; no fs_type means accept the existing filesystem", () => {
    expect(parseCapability(mount("", ["noatime,nodiratime", "noatime"]))).toEqual({
      accessType: "mount",
      fsType: undefined,
      mountFlags: ["noatime", "nodiratime"],
      readOnly: false,
      accessMode: "SINGLE_NODE_WRITER",
    });
    expect(parseCapability(mount("xfs"))).toMatchObject({ fsType: "xfs" });
  });

  it("makes reader-only access modes read-only", () => {
    expect(parseCapability(mount("ext4", [], "MULTI_NODE_READER_ONLY")).readOnly).toBe(true);
    expect(parseCapability({ block: {}, access_mode: { mode: "SINGLE_NODE_READER_ONLY" } })).toEqual({
      accessType: "block",
      readOnly: true,
      accessMode: "SINGLE_NODE_READER_ONLY",
    });
  });

  it.each([
    [null, /volume_capability is required/],
    [{ access_mode: { mode: "SINGLE_NODE_WRITER" } }, /access type/],
    [{ mount: { fs_type: "ext4", mount_flags: [] }, access_mode: null }, /access_mode is required/],
    [mount("btrfs"), /fs_type "btrfs" is not supported/],
    [mount("ext4", [], "MULTI_NODE_MULTI_WRITER"), /not supported for filesystem volumes/],
    [mount("ext4", ["bind"]), /not allowed/],
    [{ block: {}, access_mode: { mode: 99 } }, /access mode 99/],
  ])("refuses %j", (cap, message) => {
    expect(() => parseCapability(cap)).toThrow(message);
  });

  it("allows shared writers on raw block volumes", () => {
    expect(parseCapability({ block: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }).accessType).toBe(
      "block",
    );
  });
});

describe("argument checks", () => {
  it("accepts clean absolute paths and drops a trailing slash", () => {
    expect(checkAbsolutePath("/var/lib/kubelet/x/", "p")).toBe("/var/lib/kubelet/x");
  });

  it.each(["relative/path", "/a/../etc", "/a/./b", "/a\nb", "", "/a\u0000b"])("refuses path %j", (p) => {
    expect(() => checkAbsolutePath(p, "p")).toThrow();
  });

  it("accepts only loop and NVMe namespace devices", () => {
    expect(checkDevicePath("/dev/loop12")).toBe("/dev/loop12");
    expect(checkDevicePath("/dev/nvme3n1")).toBe("/dev/nvme3n1");
    for (const d of ["/dev/sda", "/dev/loop1p1", "/dev/nvme0", "-f", "/dev/loop1 "]) {
      expect(() => checkDevicePath(d)).toThrow();
    }
  });

  it("refuses mount flags that read as options or change the kind of mount", () => {
    expect(
      checkMountFlags(["discard", "commit=30", "context=system_u:object_r:container_file_t:s0"]),
    ).toEqual(["discard", "commit=30", "context=system_u:object_r:container_file_t:s0"]);
    for (const f of ["-o", "remount", "loop", "X-mount.mkdir", "a b", "helper=x", "rbind"]) {
      expect(() => checkMountFlags([f])).toThrow();
    }
  });

  it("reads the loop volume_context and refuses relative or missing backing files", () => {
    expect(
      parseVolumeContext({ transport: "loop", backingFile: "/pool/rds-csi/vols/pvc-1/disk.img" }),
    ).toEqual({
      transport: "loop",
      backingFile: "/pool/rds-csi/vols/pvc-1/disk.img",
    });
    expect(() => parseVolumeContext({ transport: "loop", backingFile: "disk.img" })).toThrow(/absolute/);
    expect(() => parseVolumeContext({ transport: "loop" })).toThrow(/backingFile is required/);
    expect(() => parseVolumeContext({})).toThrow(/transport is required/);
    expect(() => parseVolumeContext({ transport: "iscsi" })).toThrow(/not one of/);
  });
});

describe("tool output parsers", () => {
  it("parses blkid export output, with escapes", () => {
    expect(parseBlkidExport("DEVNAME=/dev/loop0\nLABEL=my\\ data\nTYPE=ext4\nUSAGE=filesystem\n")).toEqual({
      DEVNAME: "/dev/loop0",
      LABEL: "my data",
      TYPE: "ext4",
      USAGE: "filesystem",
    });
  });

  it("parses losetup JSON, empty or not", () => {
    expect(parseLosetupJson('{\n "loopdevices": [\n\n ]\n}\n')).toEqual([]);
    expect(
      parseLosetupJson('{"loopdevices":[{"name":"/dev/loop3","back-file":"/p/disk.img (deleted)"}]}'),
    ).toEqual([{ name: "/dev/loop3", backFile: "/p/disk.img (deleted)" }]);
    expect(() => parseLosetupJson("losetup: oops")).toThrow(/cannot parse/);
  });
});
