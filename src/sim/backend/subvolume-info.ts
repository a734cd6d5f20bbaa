import { commandHelper } from "./run.js";

/**
 * One subvolume's own record, read the way RouterOS would learn it after a change: with the
 * BTRFS_IOC_GET_SUBVOL_INFO ioctl on the subvolume, which costs the same next to 10 000 subvolumes
 * as next to none. (`btrfs subvolume show` also lists the subvolume's snapshots by visiting every
 * subvolume of the filesystem, so its cost grows with their number: the emulator would then cost
 * more than RouterOS.) Node has no ioctl, so the command helper (helper-program.ts, Perl) makes the
 * call. Undefined when it cannot: no helper, or the ioctl is not available (an old kernel); the
 * caller then falls back to `btrfs subvolume show`. A helper that fails on the way (dies, hangs)
 * is an error, so a passing failure does not turn the ioctl off for good.
 */

export interface SubvolumeInfo {
  readonly id: number;
  /** The subvolume it sits in (5 for the top level). */
  readonly topLevel: number;
  readonly generation: bigint;
  readonly readOnly: boolean;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly receivedUuid: string | undefined;
  /** Seconds since the epoch. */
  readonly otime: number;
}

/** The record of the subvolume whose root is `hostPath`; null when no subvolume is there. */
export async function subvolumeInfo(hostPath: string): Promise<SubvolumeInfo | null | undefined> {
  const helper = commandHelper();
  if (!helper || helper.unavailableReason !== undefined) return undefined;
  const answer = await helper.subvolumeInfo(hostPath);
  if (answer.kind !== "info" || answer.code === 2 || answer.code === 3) return undefined;
  if (answer.code === 1) return null;
  return parseInfo(answer.out.toString("utf8"));
}

/** The helper's fields: id, parent, generation, flags, three uuids (hex), otime. */
export function parseInfo(text: string): SubvolumeInfo | undefined {
  const f = text.trim().split(" ");
  if (f.length !== 8 || !f.every((x) => /^[0-9a-f]+$/.test(x))) return undefined;
  const [id, parent, gen, flags, uuid, parentUuid, receivedUuid, otime] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    id: Number(id),
    topLevel: Number(parent),
    generation: BigInt(gen),
    // BTRFS_ROOT_SUBVOL_RDONLY
    readOnly: (BigInt(flags) & 1n) === 1n,
    uuid: dashed(uuid),
    parentUuid: zero(parentUuid) ? undefined : dashed(parentUuid),
    receivedUuid: zero(receivedUuid) ? undefined : dashed(receivedUuid),
    otime: Number(otime),
  };
}

const zero = (hex: string) => /^0+$/.test(hex);

/** `aeca275cb685…` → `aeca275c-b685-…`, as `btrfs subvolume list -u` prints it. */
function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
