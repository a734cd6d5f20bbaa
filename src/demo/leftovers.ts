import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * What the kernel still holds below a scratch directory once everything started there has stopped:
 * mounts, and loop devices whose backing file lies there. There are few loop devices on a machine,
 * so a stop that leaves one behind is a problem to report, not a detail.
 */
export function leftoversBelow(dir: string): string[] {
  const root = `${path.resolve(dir)}/`;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((target) => `${target}/`.startsWith(root))
    .map((target) => `${target} still mounted`);
  const loops: string[] = [];
  for (const name of readdirSync("/sys/block").filter((n) => /^loop\d+$/.test(n))) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim();
    } catch {
      continue; // not attached
    }
    if (backing.startsWith(root)) loops.push(`/dev/${name} still attached to ${backing}`);
  }
  return [...mounts, ...loops];
}
