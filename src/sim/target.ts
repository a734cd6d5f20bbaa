import path from "node:path";
import { type ControlRequest, ControlServer } from "./control.js";
import type { Settings } from "./settings.js";
import type { DiskRecord } from "./state.js";
import type { SimWorld } from "./world.js";

/**
 * The emulator's stand-in for its NVMe/TCP target. The loop transport (the node's stand-in for
 * `nvme connect`) asks here before it attaches a volume's image, presenting its host NQN, and is
 * refused exactly when a real target would refuse the connection: no exported disk with that
 * subsystem NQN, or a host the disk's `nvme-tcp-server-allow-host-name` does not let in (empty
 * lets every host in). A unix socket next to the pool, speaking JSON lines like the control channel.
 */

export const TARGET_SOCKET = "nvme-target.sock";

export interface ConnectRequest {
  /** The subsystem NQN, when the node knows it. */
  subsystem?: string;
  /** The image's path on the node's side (under the pool mount), when the NQN is not known. */
  file?: string;
  host: string;
}

export type Admission = { admitted: true; slot: string } | { admitted: false; reason: string };

/** Whether `host` may connect to `disk`, by the disk's export and allow list. */
export function admits(disk: DiskRecord, host: string, form: Settings["allow_host_name_form"]): boolean {
  if (!disk.nvmeTcpExport || disk.disabled) return false;
  const allow = disk.nvmeTcpServerAllowHostName;
  if (allow === "") return true;
  if (form === "single") return allow === host;
  return allow
    .split(",")
    .map((h) => h.trim())
    .includes(host);
}

/**
 * Who is connected to which disk, as the target would know it: a host admitted by `connect` stays
 * connected until the export is turned off, the disk removed, or (setting `allow_host_change`) the
 * allow list stops letting it in.
 */
export class NvmeSessions {
  readonly #hosts = new Map<number, Set<string>>();

  connected(disk: DiskRecord, host: string): void {
    const hosts = this.#hosts.get(disk.id) ?? new Set<string>();
    this.#hosts.set(disk.id, hosts.add(host));
  }

  isConnected(disk: DiskRecord, host: string): boolean {
    return this.#hosts.get(disk.id)?.has(host) ?? false;
  }

  /** After a `/disk set` of this disk. */
  changed(disk: DiskRecord, settings: Settings): void {
    const hosts = this.#hosts.get(disk.id);
    if (hosts === undefined) return;
    if (!disk.nvmeTcpExport || disk.disabled) {
      this.#hosts.delete(disk.id);
      return;
    }
    if (settings.allow_host_change === "keep-connections") return;
    for (const host of hosts) if (!admits(disk, host, settings.allow_host_name_form)) hosts.delete(host);
  }

  removed(disk: DiskRecord): void {
    this.#hosts.delete(disk.id);
  }
}

function diskOf(world: SimWorld, request: Omit<ConnectRequest, "host">): DiskRecord | undefined {
  return world.state.disks.find((d) =>
    request.subsystem !== undefined
      ? (d.nvmeTcpServerNqn ?? d.slot) === request.subsystem
      : d.filePath !== undefined && world.paths.toHost(d.filePath) === request.file,
  );
}

export function admission(world: SimWorld, request: ConnectRequest): Admission {
  const disk = diskOf(world, request);
  const what = request.subsystem ?? request.file ?? "(nothing)";
  if (disk === undefined || !disk.nvmeTcpExport) {
    return { admitted: false, reason: `no exported subsystem ${what}` };
  }
  if (!admits(disk, request.host, world.settings().allow_host_name_form)) {
    world.log("disk,warning", `nvme-tcp: host ${request.host} refused for ${disk.slot}`);
    return { admitted: false, reason: `host ${request.host} is not allowed to connect to ${what}` };
  }
  world.nvmeSessions?.connected(disk, request.host);
  return { admitted: true, slot: disk.slot };
}

function connectRequest(request: ControlRequest): ConnectRequest {
  const str = (key: string) => (typeof request[key] === "string" ? (request[key] as string) : undefined);
  const host = str("host");
  if (host === undefined) throw new Error("connect needs host");
  const subsystem = str("subsystem");
  const file = str("file");
  if (subsystem === undefined && file === undefined) throw new Error("connect needs subsystem or file");
  return { host, ...(subsystem !== undefined ? { subsystem } : {}), ...(file !== undefined ? { file } : {}) };
}

export function targetServer(dataDir: string, world: SimWorld): ControlServer {
  return new ControlServer(path.join(dataDir, TARGET_SOCKET), async (request) => {
    const connect = connectRequest(request);
    if (request.op === "connect") return { ...admission(world, connect) };
    if (request.op === "status") {
      const disk = diskOf(world, connect);
      return {
        connected: disk !== undefined && (world.nvmeSessions?.isConnected(disk, connect.host) ?? false),
      };
    }
    throw new Error(`unknown op ${request.op}`);
  });
}
