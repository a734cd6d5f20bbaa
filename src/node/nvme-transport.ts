import { setTimeout as sleep } from "node:timers/promises";
import { badArgument, broken, notReady } from "./errors.js";
import { CommandError, type CommandRunner } from "./exec.js";
import { controllerState, findNvmeSubsystem, subsystemOfNamespace } from "./nvme-sysfs.js";
import { kernelName } from "./sysfs.js";
import type { NvmeTarget, Transport, TransportCall, VolumeTarget } from "./transport.js";
import type { DeviceUsageProbe } from "./usage.js";
import { checkNqn } from "./validate.js";

/** Connection settings that decide how an outage of the RDS is ridden out. */
export interface NvmeConnectSettings {
  /**
   * Seconds the kernel keeps reconnecting a lost controller before failing I/O. Long, so a reboot
   * or upgrade of the RDS stalls I/O instead of failing it and turning filesystems read-only; -1
   * retries forever.
   */
  ctrlLossTmoSeconds: number;
  /** Seconds between reconnect attempts. */
  reconnectDelaySeconds: number;
  /** Keep-alive timeout; undefined leaves nvme-cli's default. */
  keepAliveTmoSeconds?: number;
  /** This host's NQN; undefined lets nvme-cli read /etc/nvme/hostnqn. */
  hostNqn?: string;
}

export const DEFAULT_NVME_SETTINGS: NvmeConnectSettings = {
  ctrlLossTmoSeconds: 1800,
  reconnectDelaySeconds: 5,
};

export interface NvmeTransportOptions {
  run: CommandRunner;
  sysfsRoot: string;
  inUse: DeviceUsageProbe;
  settings?: NvmeConnectSettings;
  /** How long to wait for the namespace block device after a connect. */
  deviceWaitMs?: number;
  pollIntervalMs?: number;
}

const NAMESPACE_DEVICE = /^\/dev\/nvme\d+n\d+$/;

function nvmeTarget(target: VolumeTarget): NvmeTarget {
  if (target.transport !== "nvme-tcp") throw broken(`nvme-tcp transport given a ${target.transport} volume`);
  return target;
}

function checkSeconds(value: number, what: string, min: number): number {
  if (!Number.isInteger(value) || value < min || value > 86_400 * 365) {
    throw badArgument(`${what} must be an integer number of seconds >= ${min}, got ${value}`);
  }
  return value;
}

/** Fails fast, at start-up, on settings nvme-cli would refuse at the first stage. */
export function checkNvmeSettings(settings: NvmeConnectSettings): NvmeConnectSettings {
  checkSeconds(settings.ctrlLossTmoSeconds, "ctrl-loss-tmo", -1);
  checkSeconds(settings.reconnectDelaySeconds, "reconnect-delay", 1);
  if (settings.keepAliveTmoSeconds !== undefined)
    checkSeconds(settings.keepAliveTmoSeconds, "keep-alive-tmo", 1);
  if (settings.hostNqn !== undefined) checkNqn(settings.hostNqn);
  return settings;
}

/** The argv of `nvme connect` for a volume; `--opt=value` keeps a value like "-1" from reading as a flag. */
export function nvmeConnectArgs(target: NvmeTarget, settings: NvmeConnectSettings): string[] {
  const args = [
    "connect",
    "--transport=tcp",
    `--traddr=${target.address}`,
    `--trsvcid=${target.port}`,
    `--nqn=${checkNqn(target.nqn)}`,
    `--ctrl-loss-tmo=${checkSeconds(settings.ctrlLossTmoSeconds, "ctrl-loss-tmo", -1)}`,
    `--reconnect-delay=${checkSeconds(settings.reconnectDelaySeconds, "reconnect-delay", 1)}`,
  ];
  if (settings.keepAliveTmoSeconds !== undefined) {
    args.push(`--keep-alive-tmo=${checkSeconds(settings.keepAliveTmoSeconds, "keep-alive-tmo", 1)}`);
  }
  if (settings.hostNqn !== undefined) args.push(`--hostnqn=${checkNqn(settings.hostNqn)}`);
  return args;
}

export function nvmeDisconnectArgs(nqn: string): string[] {
  return ["disconnect", `--nqn=${checkNqn(nqn)}`];
}

/**
 * Volumes on a real RDS, exported over NVMe/TCP with one subsystem (NQN) per volume. The device
 * is always resolved from the NQN through sysfs.
 */
export class NvmeTcpTransport implements Transport {
  readonly kind = "nvme-tcp";
  private readonly settings: NvmeConnectSettings;

  constructor(private readonly options: NvmeTransportOptions) {
    this.settings = checkNvmeSettings(options.settings ?? DEFAULT_NVME_SETTINGS);
  }

  owns(devicePath: string): boolean {
    return NAMESPACE_DEVICE.test(devicePath);
  }

  async check(target: VolumeTarget): Promise<void> {
    nvmeTarget(target);
  }

  async find(target: VolumeTarget, _call: TransportCall): Promise<string | undefined> {
    const subsystem = await findNvmeSubsystem(this.options.sysfsRoot, nvmeTarget(target).nqn);
    const ns = subsystem?.namespaces[0];
    return ns === undefined ? undefined : `/dev/${ns}`;
  }

  async attach(target: VolumeTarget, call: TransportCall): Promise<string> {
    const t = nvmeTarget(target);
    const existing = await this.find(t, call);
    if (existing) return existing;
    const connectedBefore = (await findNvmeSubsystem(this.options.sysfsRoot, t.nqn)) !== undefined;
    if (!connectedBefore) await this.connect(t, call);
    const device = await this.waitForNamespace(t, call);
    if (device) {
      call.log?.info({ device, nqn: t.nqn, address: t.address, port: t.port }, "NVMe/TCP volume connected");
      return device;
    }
    // Connected but no namespace appeared: do not leave a half-attached controller behind.
    if (!connectedBefore) await this.disconnect(t.nqn, call).catch(() => undefined);
    throw broken(
      `connected to ${t.nqn} at ${t.address}:${t.port} but no namespace block device appeared; is the disk exported?`,
    );
  }

  async detach(target: VolumeTarget, call: TransportCall): Promise<void> {
    const t = nvmeTarget(target);
    const subsystem = await findNvmeSubsystem(this.options.sysfsRoot, t.nqn);
    if (!subsystem) return;
    const [own, ...others] = subsystem.namespaces;
    if (own !== undefined) {
      const busy = await this.options.inUse(own);
      if (busy) throw notReady(`/dev/${own} (${t.nqn}) is still in use: ${busy}`);
    }
    const sharedWith = await this.namespacesInUse(others);
    if (sharedWith.length > 0) {
      call.log?.info(
        { nqn: t.nqn, inUse: sharedWith },
        "NVMe subsystem still used by other volumes; staying connected",
      );
      return;
    }
    await this.disconnect(t.nqn, call);
    call.log?.info({ nqn: t.nqn }, "NVMe/TCP volume disconnected");
  }

  async refresh(devicePath: string, call: TransportCall): Promise<void> {
    if (!this.owns(devicePath)) throw badArgument(`${devicePath} is not an NVMe namespace`);
    const subsystem = await subsystemOfNamespace(this.options.sysfsRoot, kernelName(devicePath));
    if (!subsystem) throw notReady(`${devicePath} does not belong to a connected NVMe subsystem`);
    for (const ctrl of subsystem.controllers) {
      await this.options.run("nvme", ["ns-rescan", `/dev/${ctrl}`], { signal: call.signal });
    }
  }

  async volumeOf(devicePath: string): Promise<string | undefined> {
    const subsystem = await subsystemOfNamespace(this.options.sysfsRoot, kernelName(devicePath));
    // Volume NQNs are `<prefix>:<volume id>`.
    return subsystem?.nqn.split(":").at(-1) || undefined;
  }

  async condition(devicePath: string): Promise<string | undefined> {
    const subsystem = await subsystemOfNamespace(this.options.sysfsRoot, kernelName(devicePath));
    if (!subsystem) return `${devicePath} no longer belongs to a connected NVMe subsystem`;
    const states: string[] = [];
    for (const ctrl of subsystem.controllers) {
      const state = await controllerState(this.options.sysfsRoot, ctrl);
      if (state === "live") return undefined;
      states.push(`${ctrl} ${state ?? "unknown"}`);
    }
    return `no live NVMe/TCP path to ${subsystem.nqn} (${states.join(", ") || "no controllers"})`;
  }

  private async connect(t: NvmeTarget, call: TransportCall): Promise<void> {
    try {
      await this.options.run("nvme", nvmeConnectArgs(t, this.settings), { signal: call.signal });
    } catch (err) {
      // A connect that raced another one is fine; the namespace wait below decides.
      if (err instanceof CommandError && /already connected/i.test(err.stderr)) return;
      throw err;
    }
  }

  private async disconnect(nqn: string, call: TransportCall): Promise<void> {
    await this.options.run("nvme", nvmeDisconnectArgs(nqn), { signal: call.signal });
  }

  private async namespacesInUse(names: string[]): Promise<string[]> {
    const busy: string[] = [];
    for (const name of names) if (await this.options.inUse(name)) busy.push(name);
    return busy;
  }

  /** The kernel creates the namespace device asynchronously after the connect returns. */
  private async waitForNamespace(t: NvmeTarget, call: TransportCall): Promise<string | undefined> {
    const waitMs = this.options.deviceWaitMs ?? 15_000;
    const interval = this.options.pollIntervalMs ?? 200;
    for (let waited = 0; ; waited += interval) {
      const device = await this.find(t, call);
      if (device || waited >= waitMs || call.signal?.aborted) return device;
      await sleep(interval, undefined, { signal: call.signal }).catch(() => undefined);
    }
  }
}
