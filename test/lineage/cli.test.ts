/**
 * `rds-csi lineage` run as a user runs it, against `rds-csi sim`: volumes, snapshots, restores and
 * clones are made through the CSI Controller service, then the real CLI reads them back over SSH.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import type { Lineage } from "../../src/lineage/index.js";
import { createSnapshotRequest, createVolumeRequest, useHarness } from "../controller/harness.js";
import { type LineageFixture, makeLineageTree } from "./tree.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const h = useHarness();
let tree: LineageFixture;

beforeAll(async () => {
  tree = await makeLineageTree(h);
});

/** Runs the CLI from source; resolves with its exit code and both streams. */
async function lineage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const connection = [
    "--rds-address",
    h.sim.host,
    "--rds-port",
    String(h.sim.port),
    "--rds-user",
    h.sim.user,
    "--rds-key-file",
    h.sim.privateKeyPath,
    "--rds-pool",
    h.sim.pool,
    "--rds-fs-label",
    h.sim.fsLabel,
  ];
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", `${repo}src/cli.ts`, "lineage", ...connection, ...args],
      { cwd: repo, env: { ...process.env, RDS_ADDRESS: "" }, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("rds-csi lineage", () => {
  it("prints every object as JSON, with its relations, sizes, times and names, and changes nothing", async () => {
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    const out = await lineage("--rds-known-hosts-file", h.sim.knownHostsPath, "--json");
    expect(out.code, out.stderr).toBe(0);
    const json = JSON.parse(out.stdout) as Lineage;
    tree.expectMatches(json);

    // Read-only: only listings reached the RDS.
    const lines = (await h.sim.control.commands(since)).map((c) => c.line);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => /\b(add|set|remove|move|edit)\b/.test(l.replace(/"[^"]*"/g, "")))).toEqual([]);
  });

  it("prints the tree for people", async () => {
    const out = await lineage("--rds-host-key-fingerprint", h.sim.hostKeyFingerprint);
    expect(out.code, out.stderr).toBe(0);
    const { ids } = tree;
    const line = (id: string) => out.stdout.split("\n").find((l) => l.includes(id)) ?? `(no line for ${id})`;
    expect(line(ids.db)).toMatch(
      new RegExp(
        `^volume ${ids.db}  8 MiB  \\S+Z  PV ${tree.pv} \\(PVC shop/data-db-0\\)  \\[3 dependants\\]$`,
      ),
    );
    expect(line(ids.s1)).toMatch(new RegExp(`^├─ snapshot ${ids.s1}  8 MiB  \\S+Z  \\[1 dependant\\]$`));
    expect(line(ids.r1)).toMatch(
      new RegExp(`^│  └─ restored volume ${ids.r1}  16 MiB  \\S+Z  \\[1 dependant\\]$`),
    );
    expect(line(ids.s2)).toMatch(
      new RegExp(`^│     └─ snapshot ${ids.s2}  16 MiB  \\S+Z  \\[1 dependant\\]$`),
    );
    expect(line(ids.r2)).toMatch(
      new RegExp(`^│        └─ restored volume ${ids.r2}  16 MiB  \\S+Z  \\[safe to delete\\]$`),
    );
    expect(line(ids.s3)).toMatch(new RegExp(`^├─ snapshot ${ids.s3}  8 MiB  \\S+Z  \\[safe to delete\\]$`));
    expect(line(ids.clone)).toMatch(
      new RegExp(`^└─ cloned volume ${ids.clone}  8 MiB  \\S+Z  \\[safe to delete\\]$`),
    );
    expect(line(ids.gone)).toBe(`volume ${ids.gone}  [gone]`);
    expect(line(ids.orphan)).toMatch(
      new RegExp(`^└─ snapshot ${ids.orphan}  8 MiB  \\S+Z  \\[safe to delete\\]$`),
    );
    expect(out.stdout).toMatch(/^4 volumes, 4 snapshots; 4 safe to delete\. /m);
  });

  it("refuses to connect without a way to verify the host key, and to a host with another key", async () => {
    const unverified = await lineage("--json");
    expect(unverified.code).not.toBe(0);
    expect(unverified.stderr).toContain("the RDS host key must be verified");
    expect(unverified.stdout).toBe("");

    const wrong = await lineage("--rds-host-key-fingerprint", `SHA256:${"A".repeat(43)}`, "--json");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/host key/i);
    expect(wrong.stdout).toBe("");
  });

  it("sends the same commands however many objects there are: one listing per table", async () => {
    const commandsOfOneRun = async () => {
      const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
      const out = await lineage("--rds-known-hosts-file", h.sim.knownHostsPath, "--json");
      expect(out.code, out.stderr).toBe(0);
      const lines = (await h.sim.control.commands(since)).map((c) => c.line);
      return { lines, nodes: (JSON.parse(out.stdout) as Lineage).nodes.length };
    };
    const before = await commandsOfOneRun();
    const volume = (await h.call("CreateVolume", createVolumeRequest("more", { required: 1024n * 1024n })))
      .volume.volume_id as string;
    for (let i = 0; i < 6; i++) await h.call("CreateSnapshot", createSnapshotRequest(`more-${i}`, volume));
    const after = await commandsOfOneRun();
    expect(after.nodes).toBe(before.nodes + 7);
    expect(after.lines).toEqual(before.lines);
    // The RouterOS version (asked once per connection), then one listing per table.
    expect(before.lines.map((l) => /\[(\/[a-z/]+) (get|print)/.exec(l)?.[1])).toEqual([
      "/system/resource",
      "/disk",
      "/disk/btrfs/subvolume",
      "/disk/btrfs/subvolume",
      "/file",
      "/file",
      "/file",
    ]);
  });
});
