import type { Logger } from "../log.js";
import type { CommandRunner, RunOptions } from "./exec.js";
import { LoopTransport, type LoopTransportOptions } from "./loop-transport.js";
import { Mounter } from "./mounter.js";
import { type NvmeConnectSettings, NvmeTcpTransport } from "./nvme-transport.js";
import type { Transports } from "./transport.js";
import { type DeviceUsageProbe, deviceUsageProbe } from "./usage.js";

/** Everything the node operations touch on the host, gathered so tests can point it elsewhere. */
export interface NodeEnv {
  run: CommandRunner;
  mounter: Mounter;
  sysfsRoot: string;
  transports: Transports;
  inUse: DeviceUsageProbe;
}

/** Per-RPC context for the operations. */
export interface OpCall extends RunOptions {
  log: Logger;
}

export interface NodeEnvOptions {
  run: CommandRunner;
  sysfsRoot: string;
  mountInfoPath: string;
  /** Given transports replace the defaults from `createTransports`. */
  transports?: Transports;
  loopAllowedRoot?: string;
  loopTarget?: LoopTransportOptions["target"];
  nvme?: NvmeConnectSettings;
}

export function createNodeEnv(options: NodeEnvOptions): NodeEnv {
  const inUse = deviceUsageProbe(options);
  const transports =
    options.transports ??
    createTransports({
      run: options.run,
      sysfsRoot: options.sysfsRoot,
      inUse,
      ...(options.loopAllowedRoot !== undefined ? { loopAllowedRoot: options.loopAllowedRoot } : {}),
      ...(options.loopTarget ? { loopTarget: options.loopTarget } : {}),
      ...(options.nvme ? { nvme: options.nvme } : {}),
    });
  return {
    run: options.run,
    mounter: new Mounter(options.run, options.mountInfoPath),
    sysfsRoot: options.sysfsRoot,
    transports,
    inUse,
  };
}

export interface TransportSettings {
  run: CommandRunner;
  sysfsRoot: string;
  inUse: DeviceUsageProbe;
  /** Enables the loop transport for backing files inside this directory. */
  loopAllowedRoot?: string;
  loopTarget?: LoopTransportOptions["target"];
  nvme?: NvmeConnectSettings;
}

/** nvme-tcp always; loop only where an emulator pool directory is configured. */
export function createTransports(settings: TransportSettings): Transports {
  const transports: Transports = {
    "nvme-tcp": new NvmeTcpTransport({
      run: settings.run,
      sysfsRoot: settings.sysfsRoot,
      inUse: settings.inUse,
      ...(settings.nvme ? { settings: settings.nvme } : {}),
    }),
  };
  if (settings.loopAllowedRoot !== undefined) {
    transports.loop = new LoopTransport({
      run: settings.run,
      sysfsRoot: settings.sysfsRoot,
      inUse: settings.inUse,
      allowedRoot: settings.loopAllowedRoot,
      ...(settings.loopTarget ? { target: settings.loopTarget } : {}),
    });
  }
  return transports;
}
