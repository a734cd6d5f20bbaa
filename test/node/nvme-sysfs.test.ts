import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  controllerState,
  findNvmeSubsystem,
  listNvmeSubsystems,
  subsystemOfNamespace,
} from "../../src/node/nvme-sysfs.js";
import { addSubsystem, emptySysfs } from "./fake-sysfs.js";

const NQN_A = "nqn.2000-02.com.mikrotik:rds-csi:pvc-aaaa";
const NQN_B = "nqn.2000-02.com.mikrotik:rds-csi:pvc-bbbb";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "rds-csi-sysfs-"));
  await emptySysfs(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("NVMe subsystem resolution by NQN", () => {
  it("finds the namespace head of a multipath subsystem and ignores hidden per-path devices", async () => {
    await addSubsystem(root, {
      name: "nvme-subsys3",
      nqn: NQN_A,
      controllers: [{ name: "nvme3", hiddenPaths: ["nvme3c3n1"] }],
      heads: [{ name: "nvme3n1", nsid: 1, dev: "259:1" }],
    });
    const sub = await findNvmeSubsystem(root, NQN_A);
    expect(sub).toEqual({
      name: "nvme-subsys3",
      nqn: NQN_A,
      controllers: ["nvme3"],
      namespaces: ["nvme3n1"],
    });
  });

  it("finds namespaces under the controllers when native multipath is off", async () => {
    await addSubsystem(root, {
      name: "nvme-subsys0",
      nqn: NQN_A,
      controllers: [{ name: "nvme0", namespaces: [{ name: "nvme0n1", nsid: 1, dev: "259:0" }] }],
    });
    expect((await findNvmeSubsystem(root, NQN_A))?.namespaces).toEqual(["nvme0n1"]);
  });

  it("tells subsystems apart by NQN, not by device number order", async () => {
    // The kernel numbers devices in connection order: volume B connected first got nvme0.
    await addSubsystem(root, {
      name: "nvme-subsys0",
      nqn: NQN_B,
      controllers: [{ name: "nvme0" }],
      heads: [{ name: "nvme0n1", nsid: 1, dev: "259:0" }],
    });
    await addSubsystem(root, {
      name: "nvme-subsys1",
      nqn: NQN_A,
      controllers: [{ name: "nvme1" }],
      heads: [{ name: "nvme1n1", nsid: 1, dev: "259:1" }],
    });
    expect((await findNvmeSubsystem(root, NQN_A))?.namespaces).toEqual(["nvme1n1"]);
    expect((await findNvmeSubsystem(root, NQN_B))?.namespaces).toEqual(["nvme0n1"]);
    expect(await findNvmeSubsystem(root, "nqn.2000-02.com.mikrotik:rds-csi:pvc-cccc")).toBeUndefined();
  });

  it("orders namespaces by namespace id, numerically", async () => {
    await addSubsystem(root, {
      name: "nvme-subsys2",
      nqn: NQN_A,
      controllers: [{ name: "nvme2" }],
      heads: [
        { name: "nvme2n10", nsid: 10, dev: "259:10" },
        { name: "nvme2n2", nsid: 2, dev: "259:2" },
      ],
    });
    expect((await findNvmeSubsystem(root, NQN_A))?.namespaces).toEqual(["nvme2n2", "nvme2n10"]);
  });

  it("skips a namespace whose block device does not exist (yet)", async () => {
    await addSubsystem(root, {
      name: "nvme-subsys0",
      nqn: NQN_A,
      controllers: [{ name: "nvme0" }],
      heads: [{ name: "nvme0n1", nsid: 1, dev: "259:0" }],
    });
    await rm(join(root, "class/block/nvme0n1"), { recursive: true });
    const sub = await findNvmeSubsystem(root, NQN_A);
    expect(sub?.controllers).toEqual(["nvme0"]);
    expect(sub?.namespaces).toEqual([]);
  });

  it("falls back to the controllers' own subsysnqn on kernels without the subsystem class", async () => {
    const bare = await mkdtemp(join(tmpdir(), "rds-csi-sysfs-bare-"));
    try {
      await addSubsystem(
        bare,
        {
          name: "",
          nqn: NQN_A,
          controllers: [{ name: "nvme4", namespaces: [{ name: "nvme4n1", nsid: 1, dev: "259:4" }] }],
        },
        false,
      );
      expect(await listNvmeSubsystems(bare)).toEqual([
        { name: "", nqn: NQN_A, controllers: ["nvme4"], namespaces: ["nvme4n1"] },
      ]);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it("finds the subsystem of a namespace and reports controller state", async () => {
    await addSubsystem(root, {
      name: "nvme-subsys5",
      nqn: NQN_A,
      controllers: [{ name: "nvme5", state: "connecting" }],
      heads: [{ name: "nvme5n1", nsid: 1, dev: "259:5" }],
    });
    expect((await subsystemOfNamespace(root, "nvme5n1"))?.nqn).toBe(NQN_A);
    expect(await subsystemOfNamespace(root, "nvme9n1")).toBeUndefined();
    expect(await controllerState(root, "nvme5")).toBe("connecting");
  });

  it("returns nothing on a host with no NVMe at all", async () => {
    const none = await mkdtemp(join(tmpdir(), "rds-csi-sysfs-none-"));
    try {
      expect(await listNvmeSubsystems(none)).toEqual([]);
    } finally {
      await rm(none, { recursive: true, force: true });
    }
  });
});
