import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";
import { SnapshotScenario } from "../../src/demo/scenario.js";
import { runScenarioToTheEnd } from "../helpers/scenario.js";

const workDir = mkdtempSync(join(tmpdir(), "rds-csi-e2e-"));
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ workDir: join(workDir, "stack"), logLevel: "warn" });
});

afterAll(async () => {
  const problems = (await stack?.stop()) ?? [];
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

function loopsOf(dir: string): string[] {
  return execFileSync("losetup", ["-a"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(dir));
}

describe.each(["ext4", "xfs"] as const)(
  "data integrity end to end (%s, loop transport, real Btrfs)",
  (fsType) => {
    it("snapshot while mounted, overwrite, restore (same and larger), delete source and snapshot, clone: every checksum holds", async () => {
      const kubelet = join(workDir, `kubelet-${fsType}`);
      // mkfs.xfs refuses filesystems under 300 MB.
      const volumeBytes = (fsType === "xfs" ? 512n : 256n) * 1024n * 1024n;
      const scenario = new SnapshotScenario({ csi: stack.csi, workDir: kubelet, fsType, volumeBytes });
      await runScenarioToTheEnd(scenario, {
        kubelet,
        poolMountPath: stack.poolMountPath,
        mountsUnder,
        loopsUnder: loopsOf,
      });
    });
  },
);
