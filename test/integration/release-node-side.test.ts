import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { leftoversBelow, releaseNodeSide } from "../../src/demo/leftovers.js";

let dir: string | undefined;
const loops: string[] = [];

afterEach(() => {
  // Whatever a failed assertion left: unmount below the directory, detach our devices.
  if (dir) {
    for (const l of leftoversBelow(dir)
      .filter((x) => x.endsWith("still mounted"))
      .reverse())
      execFileSync("umount", ["-l", l.replace(/ still mounted$/, "")]);
  }
  for (const loop of loops.splice(0)) {
    try {
      execFileSync("losetup", ["-d", loop], { stdio: "pipe" });
    } catch {
      // already detached by the code under test
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("releaseNodeSide", () => {
  it("unmounts the node side's mounts and detaches its loop devices, and leaves the emulator's alone", () => {
    dir = mkdtempSync(join(tmpdir(), "rds-csi-release-"));
    const emulator = join(dir, "rds");
    const pool = join(emulator, "mnt");
    const staging = join(dir, "kubelet", "staging", "a");
    const target = join(dir, "kubelet", "pods", "a", "mount");
    for (const d of [pool, staging, target]) mkdirSync(d, { recursive: true });
    // The emulator's pool stand-in (kept), and an image inside it the way the loop transport uses one.
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "pool", pool]);
    const image = join(pool, "disk.img");
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    const loop = execFileSync("losetup", ["--find", "--show", image], { encoding: "utf8" }).trim();
    loops.push(loop);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "staged", staging]);
    execFileSync("mount", ["--bind", staging, target]);

    const { released, failed } = releaseNodeSide({
      mountsBelow: dir,
      except: emulator,
      loopsBackedBelow: pool,
    });

    expect(failed).toEqual([]);
    expect(released).toEqual([
      `unmounted ${target}`,
      `unmounted ${staging}`,
      `detached ${loop} from ${image}`,
    ]);
    expect(leftoversBelow(dir)).toEqual([`${pool} still mounted`]);
    execFileSync("umount", [pool]);
    expect(leftoversBelow(dir)).toEqual([]);
  });
});
