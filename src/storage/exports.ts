import type { CallOptions, DiskInfo } from "../rds/index.js";
import type { StorageRds } from "./rds-port.js";

/**
 * Who may connect to a volume over NVMe/TCP, as RouterOS shows it on the volume's `/disk` item.
 *
 * - `fenced`: `nvme-tcp-export=no`. Nobody, whatever RouterOS makes of the allow list. New volumes
 *   start here, and revoking the last host returns here.
 * - `hosts`: exported, `nvme-tcp-server-allow-host-name` names these host NQNs (comma-separated
 *   when there are several).
 * - `everyone`: exported with an empty allow list. Volumes made before export fencing look like
 *   this; the next publish narrows them to the publishing node.
 */
export type VolumeExport =
  | { kind: "fenced" }
  | { kind: "hosts"; hosts: readonly string[] }
  | { kind: "everyone" };

export function exportOf(disk: DiskInfo): VolumeExport {
  if (!disk.nvmeExport) return { kind: "fenced" };
  const hosts = disk.allowHostName
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  return hosts.length === 0 ? { kind: "everyone" } : { kind: "hosts", hosts };
}

export function allowedHosts(current: VolumeExport): readonly string[] {
  return current.kind === "hosts" ? current.hosts : [];
}

export function describeExport(e: VolumeExport): string {
  if (e.kind === "fenced") return "exported to no host";
  if (e.kind === "everyone") return "exported to every host";
  return `exported to ${e.hosts.join(", ")}`;
}

/**
 * Moves a disk's export to exactly `hosts` (none: fenced) from what it shows now. No step ever
 * lets in a host that is in neither the old nor the new state, so a change cut short, retried,
 * or run late by RouterOS never opens the volume wider than one of the two states:
 *
 * - to no host: `nvme-tcp-export=no` alone (an empty allow list would mean every host);
 * - from fenced: the allow list is set while still unexported, and only then the export turned on
 *   (two commands: the order of arguments within one `set` is not documented);
 * - otherwise: the allow list alone.
 *
 * A new `comment` (what the driver records about the publish) rides on the first command, so it
 * is in place before the export opens; with nothing else to change it is set on its own.
 */
export async function applyExport(
  rds: Pick<StorageRds, "setDiskExport">,
  slot: string,
  current: VolumeExport,
  hosts: readonly string[],
  call: CallOptions,
  comment?: string,
): Promise<DiskInfo | undefined> {
  const withComment = comment === undefined ? {} : { comment };
  if (hosts.length === 0) {
    if (current.kind === "fenced") {
      return comment === undefined
        ? undefined
        : rds.setDiskExport(slot, { exported: false, ...withComment }, call);
    }
    return rds.setDiskExport(slot, { exported: false, ...withComment }, call);
  }
  if (current.kind === "fenced") {
    await rds.setDiskExport(slot, { allowHosts: hosts, ...withComment }, call);
    return rds.setDiskExport(slot, { exported: true }, call);
  }
  if (current.kind === "hosts" && sameHosts(current.hosts, hosts)) {
    return comment === undefined
      ? undefined
      : rds.setDiskExport(slot, { allowHosts: hosts, ...withComment }, call);
  }
  return rds.setDiskExport(slot, { allowHosts: hosts, ...withComment }, call);
}

function sameHosts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h));
}
