import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { timeIt } from "../lib/measure.js";

const run = promisify(execFile);

/**
 * What the emulator's own commands cost underneath it: a read-only Btrfs snapshot and its delete
 * (each one `btrfs` process and a transaction commit), one `btrfs subvolume list` (the emulator
 * runs three after every change), and starting a process that does nothing — on the same pool.
 */
export interface BtrfsReference {
  snapshot: number[];
  delete: number[];
  list: number[];
  spawnOnly: number[];
}

export async function measureBtrfs(
  mountPath: string,
  sourceSubvolume: string,
  runs: number,
): Promise<BtrfsReference> {
  const out: BtrfsReference = { snapshot: [], delete: [], list: [], spawnOnly: [] };
  for (let i = 0; i < runs; i++) {
    const probe = `${mountPath}/bench-btrfs-probe-${i}`;
    out.snapshot.push(
      await timeIt(() => run("btrfs", ["subvolume", "snapshot", "-r", sourceSubvolume, probe])),
    );
    out.list.push(
      await timeIt(() =>
        run("btrfs", ["subvolume", "list", "-p", "-c", "-g", "-q", "-u", "-R", mountPath], {
          maxBuffer: 64 * 1024 * 1024,
        }),
      ),
    );
    out.delete.push(await timeIt(() => run("btrfs", ["subvolume", "delete", probe])));
    out.spawnOnly.push(await timeIt(() => run("true", [])));
  }
  return out;
}
