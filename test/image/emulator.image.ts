import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimContainer, startSimContainer } from "./containers.js";
import { requireEngineAndImages } from "./engine.js";
import { loopDevicesUnder, makeSharedDir, mountsUnder, type SharedDir } from "./shared-dir.js";

// "A real RDS" for a test, as a user gets one: `rds-csi sim` from the project's node image in a
// privileged container, reached from the host over SSH.

let dir: SharedDir | undefined;
let sim: SimContainer | undefined;

beforeAll(async () => {
  await requireEngineAndImages();
  dir = makeSharedDir("emulator");
  sim = await startSimContainer(dir.path);
});

afterAll(async () => {
  await sim?.stop();
  expect(dir?.remove() ?? []).toEqual([]);
});

/** Runs a command over OpenSSH; `verbose` adds ssh's debug lines (the server's host key) to stderr. */
function ssh(command: string, verbose = false): { stdout: string; stderr: string } {
  const s = sim!;
  const r = spawnSync(
    "ssh",
    [
      ...(verbose ? ["-v"] : []),
      ...["-p", String(s.port), "-i", s.privateKeyPath, "-o", "BatchMode=yes"],
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"],
      "admin@127.0.0.1",
      command,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`ssh ${command}: exit ${r.status}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const routeros = (command: string) => ssh(command).stdout;

describe("the emulator from the node image", () => {
  it("answers the RouterOS CLI over SSH from the host, with the host key it announced", () => {
    expect(routeros("/system resource print")).toMatch(/version: 7\.\d+/);
    expect(routeros('/disk print detail where mount-point="raid1"')).toMatch(/mount-point="?raid1/);
    const { stderr } = ssh("/system identity print", true);
    expect(/Server host key: \S+ (SHA256:\S+)/.exec(stderr)?.[1]).toBe(sim!.hostKeyFingerprint);
  });

  it("keeps its pool on real Btrfs, visible on the host through the shared directory", () => {
    const fsType = execFileSync("stat", ["-f", "-c", "%T", sim!.poolMountPath], { encoding: "utf8" }).trim();
    expect(fsType).toBe("btrfs");
    routeros("/disk/btrfs/subvolume add fs=raid1 name=image-test");
    expect(execFileSync("btrfs", ["subvolume", "list", sim!.poolMountPath], { encoding: "utf8" })).toContain(
      "image-test",
    );
  });

  it("unmounts its pool and detaches its loop device when the container stops", async () => {
    expect(loopDevicesUnder(dir!.path)).toHaveLength(1);
    await sim!.stop();
    sim = undefined;
    expect(mountsUnder(dir!.path).map((m) => m.target)).toEqual([dir!.path]);
    expect(loopDevicesUnder(dir!.path)).toEqual([]);
  });
});
