import { Command } from "commander";
import { describe, expect, it } from "vitest";
import {
  checkControllerConfig,
  commonOptions,
  commonSchema,
  connectionOptionsFor,
  controllerOptions,
  controllerSchema,
  lateCommandWindowMs,
  nodeOptions,
  nodeSchema,
  validateConfig,
} from "../../src/config.js";

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = new Command().exitOverride();
    for (const o of [...commonOptions(), ...controllerOptions(), ...nodeOptions()]) cmd.addOption(o);
    cmd.parse(argv, { from: "user" });
    return cmd.opts();
  } finally {
    process.env = saved;
  }
}

const pinned = ["--rds-address", "rds.example", "--rds-host-key-fingerprint", `SHA256:${"A".repeat(43)}`];

describe("driver configuration", () => {
  it("applies defaults and converts types", () => {
    const raw = parse(pinned);
    const c = validateConfig(controllerSchema, raw);
    expect(c.rdsPort).toBe(22);
    expect(c.rdsUser).toBe("admin");
    expect(c.rdsRoot).toBe("rds-csi");
    expect(c.nvmePort).toBe(4420);
    expect(c.rdsInsecureSkipHostKeyCheck).toBe(false);
    expect(c.rdsCommandTimeout).toBe(30_000);
    expect(c.reconcileInterval).toBe(0);
    expect(c.reconcileDryRun).toBe(true);
    expect(c.reconcileGracePeriod).toBe(3_600_000);
    expect(validateConfig(commonSchema, raw).endpoint).toBe("unix:///csi/csi.sock");
    expect(() => checkControllerConfig(c)).not.toThrow();
  });

  it("bounds the wait for an SSH channel on its own, and hands it to the connection", () => {
    const byDefault = validateConfig(controllerSchema, parse(pinned));
    expect(byDefault.rdsChannelWaitTimeout).toBe(60_000);
    expect(connectionOptionsFor(byDefault)).toMatchObject({
      channelWaitTimeoutMs: 60_000,
      commandTimeoutMs: 30_000,
    });
    const set = validateConfig(controllerSchema, parse(pinned, { RDS_CHANNEL_WAIT_TIMEOUT: "2m" }));
    expect(connectionOptionsFor(set).channelWaitTimeoutMs).toBe(120_000);
    expect(() =>
      validateConfig(controllerSchema, parse([...pinned, "--rds-channel-wait-timeout", "soon"])),
    ).toThrow(/channel-wait-timeout/);
  });

  it("derives the late-command window from the command timeout unless it is set", () => {
    const auto = validateConfig(controllerSchema, parse([...pinned, "--rds-command-timeout", "20s"]));
    expect(auto.lateCommandWindow).toBe("auto");
    expect(lateCommandWindowMs(auto)).toBe(200_000);
    const set = validateConfig(controllerSchema, parse([...pinned, "--late-command-window", "15m"]));
    expect(lateCommandWindowMs(set)).toBe(900_000);
    const off = validateConfig(controllerSchema, parse(pinned, { LATE_COMMAND_WINDOW: "0" }));
    expect(lateCommandWindowMs(off)).toBe(0);
    expect(() =>
      validateConfig(controllerSchema, parse([...pinned, "--late-command-window", "never"])),
    ).toThrow(/late/i);
  });

  it("reads every setting from the environment when no flag is given", () => {
    const raw = parse([], {
      RDS_ADDRESS: "10.0.0.5",
      RDS_PORT: "2222",
      RDS_KNOWN_HOSTS_FILE: "/etc/rds-csi/ssh/known_hosts",
      RDS_ROOT: "k8s/volumes",
      RECONCILE_INTERVAL: "5m",
      RECONCILE_DRY_RUN: "false",
      NODE_ID: "worker-1",
    });
    const c = validateConfig(controllerSchema, raw);
    expect(c.rdsAddress).toBe("10.0.0.5");
    expect(c.rdsPort).toBe(2222);
    expect(c.rdsRoot).toBe("k8s/volumes");
    expect(c.reconcileInterval).toBe(300_000);
    expect(c.reconcileDryRun).toBe(false);
    expect(validateConfig(nodeSchema, raw).nodeId).toBe("worker-1");
  });

  it("lists every invalid value in one readable message naming the flag", () => {
    const raw = parse([
      "--rds-address",
      "x",
      "--rds-port",
      "99999",
      "--rds-root",
      "../etc",
      "--rds-command-timeout",
      "soon",
    ]);
    let message = "";
    try {
      validateConfig(controllerSchema, raw);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("--rds-port");
    expect(message).toContain("--rds-root");
    expect(message).toContain("--rds-command-timeout");
    expect(message).not.toContain("--rds-address");
  });

  it("requires a verified host key unless the unsafe opt-out is explicit", () => {
    const c = validateConfig(controllerSchema, parse(["--rds-address", "x"]));
    expect(() => checkControllerConfig(c)).toThrow(/host key must be verified/);
    const optedOut = validateConfig(
      controllerSchema,
      parse(["--rds-address", "x", "--rds-insecure-skip-host-key-check", "true"]),
    );
    expect(() => checkControllerConfig(optedOut)).not.toThrow();
  });

  it("needs the pool path for the loop transport", () => {
    const c = validateConfig(controllerSchema, parse([...pinned, "--node-transport", "loop"]));
    expect(() => checkControllerConfig(c)).toThrow(/--loop-pool-path/);
    expect(() => validateConfig(controllerSchema, parse([...pinned, "--node-transport", "iscsi"]))).toThrow(
      /--node-transport/,
    );
  });

  it("reads the extra pools, name or name:fs-label, and refuses bad, repeated or default ones", () => {
    expect(validateConfig(controllerSchema, parse(pinned)).rdsPools).toEqual([]);
    const c = validateConfig(controllerSchema, parse(pinned, { RDS_POOLS: "fast, archive:archive-fs" }));
    expect(c.rdsPools).toEqual([
      { pool: "fast", fsLabel: "fast" },
      { pool: "archive", fsLabel: "archive-fs" },
    ]);
    expect(() => checkControllerConfig(c)).not.toThrow();
    expect(() => validateConfig(controllerSchema, parse([...pinned, "--rds-pools", "a b"]))).toThrow(
      /--rds-pools/,
    );
    expect(() => validateConfig(controllerSchema, parse([...pinned, "--rds-pools", "a,a"]))).toThrow(/twice/);
    const again = validateConfig(controllerSchema, parse([...pinned, "--rds-pools", "raid1"]));
    expect(() => checkControllerConfig(again)).toThrow(/default pool raid1/);
  });

  it("gives the controller the nodes' attach limit, from the same flag or variable", () => {
    expect(validateConfig(controllerSchema, parse(pinned)).maxVolumesPerNode).toBe(0);
    expect(
      validateConfig(controllerSchema, parse([...pinned, "--max-volumes-per-node", "16"])).maxVolumesPerNode,
    ).toBe(16);
    const fromEnv = parse([...pinned, "--node-id", "n1"], { MAX_VOLUMES_PER_NODE: "8" });
    expect(validateConfig(controllerSchema, fromEnv).maxVolumesPerNode).toBe(8);
    expect(validateConfig(nodeSchema, fromEnv).maxVolumesPerNode).toBe(8);
    expect(() =>
      validateConfig(controllerSchema, parse([...pinned, "--max-volumes-per-node", "-1"])),
    ).toThrow(/--max-volumes-per-node/);
  });

  it("requires a node id for the node role", () => {
    expect(() => validateConfig(nodeSchema, parse([]))).toThrow(/--node-id/);
  });
});

describe("durations in Go's form", () => {
  it.each([
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
    ["2h45m30.5s", 9_930_500],
    ["300ms", 300],
    ["1m0s", 60_000],
    ["0", 0],
    ["30", 30_000],
  ])("%s is %d ms in every duration setting", (text, ms) => {
    const c = validateConfig(controllerSchema, parse([...pinned, "--reconcile-grace-period", text]));
    expect(c.reconcileGracePeriod).toBe(ms);
    const t = validateConfig(controllerSchema, parse([...pinned, "--rds-command-timeout", text]));
    expect(t.rdsCommandTimeout).toBe(ms);
  });

  it.each(["1h 30m", "h", "-5s", "5 minutes", "1d", "1.5.2s", ""])(
    "refuses %j with a readable message",
    (text) => {
      expect(() =>
        validateConfig(controllerSchema, parse([...pinned, "--reconcile-interval", text])),
      ).toThrow(/--reconcile-interval: not a duration/);
    },
  );

  it("the NVMe/TCP reconnect timeout is a node setting: 30m by default, a duration or forever", () => {
    expect(validateConfig(nodeSchema, parse(["--node-id", "n"])).nvmeCtrlLossTimeout).toBe(1_800_000);
    expect(
      validateConfig(nodeSchema, parse(["--node-id", "n"], { NVME_CTRL_LOSS_TIMEOUT: "2h" }))
        .nvmeCtrlLossTimeout,
    ).toBe(7_200_000);
    expect(
      validateConfig(nodeSchema, parse(["--node-id", "n", "--nvme-ctrl-loss-timeout", "forever"]))
        .nvmeCtrlLossTimeout,
    ).toBe(-1);
    expect(
      validateConfig(nodeSchema, parse(["--node-id", "n", "--nvme-reconnect-delay", "10s"]))
        .nvmeReconnectDelay,
    ).toBe(10_000);
    expect(() =>
      validateConfig(nodeSchema, parse(["--node-id", "n", "--nvme-ctrl-loss-timeout", "soon"])),
    ).toThrow(/--nvme-ctrl-loss-timeout/);
  });
});

describe("NVMe/TCP connect settings from the node configuration", () => {
  it("become nvme connect's whole seconds, -1 for forever", async () => {
    const { nvmeSettings } = await import("../../src/driver.js");
    const { nvmeConnectArgs } = await import("../../src/node/nvme-transport.js");
    const node = (flags: string[]) => validateConfig(nodeSchema, parse(["--node-id", "n", ...flags]));
    const target = {
      transport: "nvme-tcp" as const,
      address: "10.0.0.1",
      port: 4420,
      nqn: "nqn.2000-02.com.mikrotik:pvc-1",
    };
    expect(nvmeConnectArgs(target, nvmeSettings(node([])))).toEqual(
      expect.arrayContaining(["--ctrl-loss-tmo=1800", "--reconnect-delay=5"]),
    );
    expect(nvmeConnectArgs(target, nvmeSettings(node(["--nvme-ctrl-loss-timeout", "1h30m"])))).toContain(
      "--ctrl-loss-tmo=5400",
    );
    expect(nvmeSettings(node(["--nvme-ctrl-loss-timeout", "forever"])).ctrlLossTmoSeconds).toBe(-1);
    expect(nvmeSettings(node(["--nvme-reconnect-delay", "1500ms"])).reconnectDelaySeconds).toBe(2);
  });
});
