import { run } from "./run.js";

/**
 * One subvolume's own record, read the way RouterOS would learn it after a change: with the
 * BTRFS_IOC_GET_SUBVOL_INFO ioctl on the subvolume, which costs the same next to 10 000 subvolumes
 * as next to none. (`btrfs subvolume show` also lists the subvolume's snapshots by visiting every
 * subvolume of the filesystem, so its cost grows with their number: the emulator would then cost
 * more than RouterOS.) Node has no ioctl, so a short Perl program makes the call: `perl-base` is
 * part of every Debian system. Undefined when Perl or the ioctl is not available (the caller then
 * falls back to `btrfs subvolume show`).
 */

/** `_IOR(BTRFS_IOCTL_MAGIC 0x94, 60, struct btrfs_ioctl_get_subvol_info_args)` (504 bytes). */
const PROGRAM = `
use strict;
my $path = $ARGV[0];
if (!open(my $fh, "<", $path)) { if ($!{ENOENT} || $!{ENOTDIR}) { print "missing\\n"; exit 0 } exit 2 }
else {
  # A subvolume's root directory is inode 256; anything else is not a subvolume (the ioctl would
  # answer for the subvolume that holds it).
  if ((stat($fh))[1] != 256) { print "missing\\n"; exit 0 }
  my $buf = "\\0" x 504;
  ioctl($fh, 0x81F8943C, $buf) or exit 3;
  my ($treeid) = unpack("Q<", $buf);
  my ($parent, $dirid, $gen, $flags) = unpack("Q<4", substr($buf, 264, 32));
  my @uuids = map { unpack("H32", substr($buf, $_, 16)) } (296, 312, 328);
  my ($otime) = unpack("Q<", substr($buf, 392, 8));
  print join(" ", $treeid, $parent, $gen, $flags, @uuids, $otime), "\\n";
}
`;

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
  let text: string;
  try {
    text = await run("perl", ["-e", PROGRAM, "--", hostPath]);
  } catch {
    return undefined;
  }
  if (text.trim() === "missing") return null;
  const f = text.trim().split(" ");
  if (f.length !== 8) return undefined;
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
