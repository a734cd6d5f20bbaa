import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NodeError } from "../../src/node/errors.js";
import { CommandError, type CommandRunner } from "../../src/node/exec.js";
import {
  checkNvmeSettings,
  DEFAULT_NVME_SETTINGS,
  NvmeTcpTransport,
  nvmeConnectArgs,
  nvmeDisconnectArgs,
} from "../../src/node/nvme-transport.js";
import { type NvmeTarget, parseVolumeContext } from "../../src/node/transport.js";
import { addSubsystem, emptySysfs, type FakeSubsystem, removeSubsystem } from "./fake-sysfs.js";

const NQN = "nqn.2000-02.com.mikrotik:rds-csi:pvc-0b6f6c3e-8a4e-4c43-9d2f-1c2b3a4d5e6f";
const TARGET: NvmeTarget = { transport: "nvme-tcp", address: "10.20.0.5", port: 4420, nqn: NQN };

const SUBSYSTEM: FakeSubsystem = {
  name: "nvme-subsys7",
  nqn: NQN,
  controllers: [{ name: "nvme7", hiddenPaths: ["nvme7c7n1"] }],
  heads: [{ name: "nvme7n1", nsid: 1, dev: "259:7" }],
};

interface Call {
  file: string;
  args: readonly string[];
}

let root: string;
let calls: Call[];
let busy: Map<string, string>;

/** Plays the kernel: a connect makes the subsystem appear in sysfs, a disconnect removes it. */
function kernelRunner(
  options: { connectCreates?: FakeSubsystem | null; connectFails?: string } = {},
): CommandRunner {
  return async (file, args) => {
    calls.push({ file, args });
    if (file === "nvme" && args[0] === "connect") {
      if (options.connectFails) throw new CommandError(file, args, 1, "", options.connectFails, "exit 1");
      const sub = options.connectCreates === undefined ? SUBSYSTEM : options.connectCreates;
      if (sub) await addSubsystem(root, sub);
    }
    if (file === "nvme" && args[0] === "disconnect") await removeSubsystem(root, SUBSYSTEM);
    return { stdout: "", stderr: "" };
  };
}

function transport(run: CommandRunner, deviceWaitMs = 0): NvmeTcpTransport {
  return new NvmeTcpTransport({
    run,
    sysfsRoot: root,
    inUse: async (name) => busy.get(name),
    deviceWaitMs,
    pollIntervalMs: 5,
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "rds-csi-nvme-"));
  await emptySysfs(root);
  calls = [];
  busy = new Map();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("nvme connect command line", () => {
  it("names the target and asks for a long controller-loss timeout and quick reconnects", () => {
    expect(nvmeConnectArgs(TARGET, DEFAULT_NVME_SETTINGS)).toEqual([
      "connect",
      "--transport=tcp",
      "--traddr=10.20.0.5",
      "--trsvcid=4420",
      `--nqn=${NQN}`,
      "--ctrl-loss-tmo=1800",
      "--reconnect-delay=5",
    ]);
  });

  it("keeps a -1 (retry forever) timeout attached to its option, and passes host NQN and keep-alive", () => {
    const args = nvmeConnectArgs(
      { ...TARGET, address: "fd00::5" },
      {
        ctrlLossTmoSeconds: -1,
        reconnectDelaySeconds: 2,
        keepAliveTmoSeconds: 10,
        hostNqn: "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      },
    );
    expect(args).toContain("--traddr=fd00::5");
    expect(args).toContain("--ctrl-loss-tmo=-1");
    expect(args).toContain("--keep-alive-tmo=10");
    expect(args).toContain("--hostnqn=nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    expect(args.every((a) => a === "connect" || a.startsWith("--"))).toBe(true);
  });

  it("refuses settings nvme-cli would reject, at construction", () => {
    expect(() => checkNvmeSettings({ ctrlLossTmoSeconds: -2, reconnectDelaySeconds: 5 })).toThrow(
      /ctrl-loss-tmo/,
    );
    expect(() => checkNvmeSettings({ ctrlLossTmoSeconds: 60, reconnectDelaySeconds: 0 })).toThrow(
      /reconnect-delay/,
    );
    expect(() => checkNvmeSettings({ ctrlLossTmoSeconds: 1.5, reconnectDelaySeconds: 5 })).toThrow(
      /ctrl-loss-tmo/,
    );
    expect(() => checkNvmeSettings({ ...DEFAULT_NVME_SETTINGS, hostNqn: "host-1" })).toThrow(/NQN/);
  });

  it("disconnects by NQN only", () => {
    expect(nvmeDisconnectArgs(NQN)).toEqual(["disconnect", `--nqn=${NQN}`]);
    expect(() => nvmeDisconnectArgs("--all")).toThrow(/NQN/);
  });
});

describe("nvme-tcp volume_context", () => {
  it("reads address, port and NQN", () => {
    expect(
      parseVolumeContext({ transport: "nvme-tcp", nvmeAddress: "10.20.0.5", nvmePort: "4420", nqn: NQN }),
    ).toEqual(TARGET);
  });

  it.each([
    [{ nvmeAddress: "10.20.0.5", nvmePort: "4420" }, /nqn is required/],
    [{ nvmeAddress: "-oProxyCommand", nvmePort: "4420", nqn: NQN }, /address/],
    [{ nvmeAddress: "10.20.0.5", nvmePort: "70000", nqn: NQN }, /port/],
    [{ nvmeAddress: "10.20.0.5", nvmePort: "4420", nqn: "nqn.x --all" }, /NQN/],
  ])("refuses %j", (context, message) => {
    expect(() => parseVolumeContext({ transport: "nvme-tcp", ...context })).toThrow(message);
  });
});

describe("NvmeTcpTransport", () => {
  it("connects, then resolves the device by NQN in sysfs", async () => {
    const t = transport(kernelRunner());
    expect(await t.attach(TARGET, {})).toBe("/dev/nvme7n1");
    expect(calls).toEqual([{ file: "nvme", args: nvmeConnectArgs(TARGET, DEFAULT_NVME_SETTINGS) }]);
  });

  it("does not connect again when the subsystem is already connected", async () => {
    await addSubsystem(root, SUBSYSTEM);
    const t = transport(kernelRunner());
    expect(await t.attach(TARGET, {})).toBe("/dev/nvme7n1");
    expect(await t.find(TARGET, {})).toBe("/dev/nvme7n1");
    expect(calls).toEqual([]);
  });

  it("treats 'already connected' from a racing connect as success", async () => {
    // Another connect for the same NQN completes between our sysfs lookup and our own connect.
    const racing: CommandRunner = async (file, args) => {
      calls.push({ file, args });
      await addSubsystem(root, SUBSYSTEM);
      throw new CommandError(
        file,
        args,
        114,
        "",
        "Failed to write to /dev/nvme-fabrics: Operation already in progress; already connected",
        "",
      );
    };
    expect(await transport(racing, 1000).attach(TARGET, {})).toBe("/dev/nvme7n1");
  });

  it("disconnects again and fails when no namespace appears after connecting", async () => {
    const t = transport(kernelRunner({ connectCreates: { ...SUBSYSTEM, heads: [] } }), 20);
    await expect(t.attach(TARGET, {})).rejects.toThrow(/no namespace block device appeared/);
    expect(calls.map((c) => c.args[0])).toEqual(["connect", "disconnect"]);
  });

  it("passes a failed connect through", async () => {
    const t = transport(kernelRunner({ connectFails: "could not add new controller: Connection refused" }));
    await expect(t.attach(TARGET, {})).rejects.toThrow(/Connection refused/);
  });

  it("disconnects when the last user is gone", async () => {
    await addSubsystem(root, SUBSYSTEM);
    await transport(kernelRunner()).detach(TARGET, {});
    expect(calls).toEqual([{ file: "nvme", args: ["disconnect", `--nqn=${NQN}`] }]);
    expect(await findAfter()).toBeUndefined();
  });

  it("detach of a volume that is not connected does nothing", async () => {
    await transport(kernelRunner()).detach(TARGET, {});
    expect(calls).toEqual([]);
  });

  it("refuses to disconnect while the volume's own device is mounted", async () => {
    await addSubsystem(root, SUBSYSTEM);
    busy.set("nvme7n1", "mounted at /var/lib/kubelet/pods/x/volumes/y");
    const err = await transport(kernelRunner())
      .detach(TARGET, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).kind).toBe("failed-precondition");
    expect(calls).toEqual([]);
  });

  it("never disconnects a subsystem another staged volume still uses", async () => {
    const shared: FakeSubsystem = {
      ...SUBSYSTEM,
      heads: [
        { name: "nvme7n1", nsid: 1, dev: "259:7" },
        { name: "nvme7n2", nsid: 2, dev: "259:8" },
      ],
    };
    await addSubsystem(root, shared);
    busy.set("nvme7n2", "mounted at /var/lib/kubelet/plugins/x/globalmount/fs");
    await transport(kernelRunner()).detach(TARGET, {});
    expect(calls).toEqual([]);
  });

  it("rescans every controller of the namespace's subsystem to see a grown namespace", async () => {
    await addSubsystem(root, {
      ...SUBSYSTEM,
      controllers: [{ name: "nvme7" }, { name: "nvme8" }],
    });
    await transport(kernelRunner()).refresh("/dev/nvme7n1", {});
    expect(calls).toEqual([
      { file: "nvme", args: ["ns-rescan", "/dev/nvme7"] },
      { file: "nvme", args: ["ns-rescan", "/dev/nvme8"] },
    ]);
    await expect(transport(kernelRunner()).refresh("/dev/loop1", {})).rejects.toThrow(
      /not an NVMe namespace/,
    );
  });

  it("reports an abnormal condition while no controller path is live", async () => {
    await addSubsystem(root, { ...SUBSYSTEM, controllers: [{ name: "nvme7", state: "connecting" }] });
    const t = transport(kernelRunner());
    expect(await t.condition("/dev/nvme7n1")).toMatch(/no live NVMe\/TCP path.*nvme7 connecting/);
    expect(await t.condition("/dev/nvme9n1")).toMatch(/no longer belongs/);
  });

  it("tells which volume a namespace serves from its subsystem's NQN", async () => {
    await addSubsystem(root, SUBSYSTEM);
    const t = transport(kernelRunner());
    expect(await t.volumeOf("/dev/nvme7n1")).toBe("pvc-0b6f6c3e-8a4e-4c43-9d2f-1c2b3a4d5e6f");
    expect(await t.volumeOf("/dev/nvme9n1")).toBeUndefined();
  });

  it("reports a live path as healthy", async () => {
    await addSubsystem(root, SUBSYSTEM);
    expect(await transport(kernelRunner()).condition("/dev/nvme7n1")).toBeUndefined();
  });

  it("owns NVMe namespace devices only", () => {
    const t = transport(kernelRunner());
    expect(t.owns("/dev/nvme0n1")).toBe(true);
    expect(t.owns("/dev/nvme0")).toBe(false);
    expect(t.owns("/dev/nvme0c0n1")).toBe(false);
    expect(t.owns("/dev/loop0")).toBe(false);
  });
});

async function findAfter(): Promise<string | undefined> {
  return transport(kernelRunner()).find(TARGET, {});
}
