import type { Logger } from "../log.js";
import type { CommandRunner, RunOptions } from "./exec.js";
import { Mounter } from "./mounter.js";
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

export function createNodeEnv(options: {
  run: CommandRunner;
  sysfsRoot: string;
  mountInfoPath: string;
  transports: Transports;
}): NodeEnv {
  return {
    run: options.run,
    mounter: new Mounter(options.run, options.mountInfoPath),
    sysfsRoot: options.sysfsRoot,
    transports: options.transports,
    inUse: deviceUsageProbe(options),
  };
}
