import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/**
 * Why this machine cannot run the emulator, or undefined when it can. The emulator mounts a Btrfs
 * image on a loop device, so it needs root, loop devices, the btrfs kernel module and btrfs-progs.
 */
export function emulatorBlocker(): string | undefined {
  if (process.getuid?.() !== 0) {
    return "the demo must run as root: the RDS emulator mounts a Btrfs image on a loop device (try: sudo npm run demo)";
  }
  if (!existsSync("/dev/loop-control")) {
    return "no loop devices: /dev/loop-control is missing (load the loop module: modprobe loop)";
  }
  let filesystems = "";
  try {
    filesystems = readFileSync("/proc/filesystems", "utf8");
  } catch {
    return "cannot read /proc/filesystems to check for Btrfs support";
  }
  if (!/\bbtrfs\b/.test(filesystems)) {
    try {
      execFileSync("modprobe", ["btrfs"], { stdio: "ignore" });
    } catch {
      return "the kernel has no Btrfs support (btrfs is not in /proc/filesystems and modprobe btrfs failed)";
    }
  }
  for (const tool of ["mkfs.btrfs", "btrfs", "losetup", "mkfs.ext4", "blkid", "ssh-keygen"]) {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (run ./setup.sh, or apt-get install btrfs-progs e2fsprogs util-linux openssh-client)`;
    }
  }
  return undefined;
}
