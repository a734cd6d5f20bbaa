import type { ServiceHandlers } from "./pipeline.js";

/** What Probe reports: a cached view, never a round trip to the RDS per probe. */
export type ReadinessSource = () => { ready: boolean; reason?: string };

export interface IdentityOptions {
  driverName: string;
  version: string;
  readiness: ReadinessSource;
}

type PluginCapability =
  | { service: { type: "CONTROLLER_SERVICE" } }
  | { volume_expansion: { type: "ONLINE" | "OFFLINE" } };

/*
 * The capabilities of the plugin as a whole, the same from every process of it: a node-only
 * process still belongs to a plugin whose controller publishes volumes, and clients that meet only
 * the node endpoint (csi-sanity with a separate controller endpoint) learn from this that a volume
 * must be ControllerPublished to the node before it can be staged there.
 */
const capabilities: PluginCapability[] = [
  { service: { type: "CONTROLLER_SERVICE" } },
  // Files on the RDS grow while exported; the node then grows the filesystem online.
  { volume_expansion: { type: "ONLINE" } },
];

export function createIdentityService(options: IdentityOptions): ServiceHandlers {
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
