import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Child, startChild } from "../../src/demo/processes.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
let demo: Child | undefined;

afterEach(async () => {
  await demo?.stop(60_000);
  demo = undefined;
});

function startDemo(): Child {
  return startChild("rds-csi demo", process.execPath, ["--import", "tsx", `${repo}src/cli.ts`, "demo"]);
}

function exitCode(child: Child): Promise<number | null> {
  return new Promise((resolve) => {
    if (!child.running) resolve(child.proc.exitCode);
    else child.proc.once("exit", (code) => resolve(code));
  });
}

/** Mounts and loop devices that still refer to the demo's working directory. */
function leftovers(workDir: string): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(workDir));
  const loops = execFileSync("losetup", ["-a"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(workDir));
  return [...mounts, ...loops];
}

describe("rds-csi demo", () => {
  it("runs the whole story, prints the summary table and leaves nothing behind", async () => {
    demo = startDemo();
    const workLine = await demo.waitForLine(/working in (\S+)/, 30_000);
    const workDir = /working in (\S+)/.exec(workLine)![1]!;
    const code = await exitCode(demo);
    const out = demo.output.join("\n");
    expect(code, out).toBe(0);
    expect(out).toContain("summary");
    expect(out).toMatch(/^10\s+ok\s+/m);
    expect(out).not.toMatch(/FAILED/);
    expect(out).toContain("RESULT: every checksum verified");
    expect(out).toContain("cleanup complete: nothing left behind");
    expect(existsSync(workDir)).toBe(false);
    expect(leftovers(workDir)).toEqual([]);
  });

  it("cleans up everything when interrupted with Ctrl-C in the middle", async () => {
    demo = startDemo();
    const workLine = await demo.waitForLine(/working in (\S+)/, 30_000);
    const workDir = /working in (\S+)/.exec(workLine)![1]!;
    await demo.waitForLine(/✔ write data set/, 120_000);
    // Volumes are staged and mounted right now: the cleanup has real work to do.
    expect(leftovers(workDir).length).toBeGreaterThan(0);
    // A terminal's Ctrl-C goes to the whole foreground process group.
    process.kill(-demo.proc.pid!, "SIGINT");
    const code = await exitCode(demo);
    expect(code, demo.output.join("\n")).toBe(130);
    expect(demo.output.join("\n")).toContain("cleanup complete: nothing left behind");
    expect(existsSync(workDir)).toBe(false);
    expect(leftovers(workDir)).toEqual([]);
  });
});
