import type { ServiceHandlers } from "./pipeline.js";

/** What Probe reports: a cached view, never a round trip to the RDS per probe. */
export type ReadinessSource = () => { ready: boolean; reason?: string };

export interface IdentityOptions {
  driverName: string;
  version: string;
  /** True when this process serves the Controller service. */
  controller: boolean;
  readiness: ReadinessSource;
}

type PluginCapability =
  | { service: { type: "CONTROLLER_SERVICE" } }
  | { volume_expansion: { type: "ONLINE" | "OFFLINE" } };

export function createIdentityService(options: IdentityOptions): ServiceHandlers {
  const capabilities: PluginCapability[] = [];
  if (options.controller) {
    capabilities.push({ service: { type: "CONTROLLER_SERVICE" } });
    // Files on the RDS grow while exported; the node then grows the filesystem online.
    capabilities.push({ volume_expansion: { type: "ONLINE" } });
  }
  return {
    GetPluginInfo: async () => ({ name: options.driverName, vendor_version: options.version, manifest: {} }),
    GetPluginCapabilities: async () => ({ capabilities }),
    Probe: async (_req, ctx) => {
      const { ready, reason } = options.readiness();
      if (!ready) ctx.log.debug({ reason }, "not ready");
      return { ready: { value: ready } };
    },
  };
}
