import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getContainerRuntimeClient } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DriverContainer,
  type SimContainer,
  startControllerContainer,
  startNodeContainer,
  startSimContainer,
} from "./containers.js";
import { requireEngineAndImages } from "./engine.js";
import { makeSharedDir, type SharedDir } from "./shared-dir.js";

// csi-sanity against the driver as it ships: the controller image (non-root) and the node image
// (privileged, loop transport) as two containers, the emulator from the node image as the RDS.

const MiB = 1024 * 1024;
/** Small, so csi-sanity's attach-limit spec makes few volumes. */
const ATTACH_LIMIT_ARGS = ["--max-volumes-per-node", "4"];
/** Specs that must run (they are skipped when a capability or setting goes missing). */
const MUST_RUN = [
  "should fail when the volume is already published but is incompatible",
  "should fail when publishing more volumes than the node max attach limit",
];
let dir: SharedDir | undefined;
let sim: SimContainer | undefined;
let controller: DriverContainer | undefined;
let node: DriverContainer | undefined;

beforeAll(async () => {
  await requireEngineAndImages();
  dir = makeSharedDir("sanity");
  sim = await startSimContainer(dir.path, "8G");
  // The node reports the attach limit and the controller enforces it, from the same setting.
  controller = await startControllerContainer(dir.path, sim, ATTACH_LIMIT_ARGS);
  node = await startNodeContainer(dir.path, sim, ATTACH_LIMIT_ARGS);
});

afterAll(async () => {
  // Each stops whatever the others did; the directory sweep catches what a failure left.
  for (const c of [node, controller, sim]) await c?.stop().catch(() => undefined);
  expect(dir?.remove() ?? []).toEqual([]);
});

function csiSanity(): string {
  const found = [
    process.env.CSI_SANITY,
    join(homedir(), "go", "bin", "csi-sanity"),
    "/usr/local/bin/csi-sanity",
  ].find((c): c is string => c !== undefined && c !== "" && existsSync(c));
  if (!found) throw new Error("csi-sanity not found (./setup.sh installs it)");
  return found;
}

async function runSanity(
  accessType: "mount" | "block",
): Promise<{ code: number; output: string; junit: string }> {
  const work = join(dir!.path, `sanity-${accessType}`);
  mkdirSync(work, { recursive: true });
  const params = join(work, "volume-parameters.yaml");
  writeFileSync(
    params,
    "csi.storage.k8s.io/pvc/name: sanity-claim\ncsi.storage.k8s.io/pvc/namespace: default\n",
  );
  const snapParams = join(work, "snapshot-parameters.yaml");
  writeFileSync(snapParams, "csi.storage.k8s.io/volumesnapshot/name: sanity-snapshot\n");
  const junit = join(work, "junit.xml");
  const args = [
    `-csi.endpoint=${node!.endpoint}`,
    `-csi.controllerendpoint=${controller!.endpoint}`,
    // Below the shared directory, so the node container sees the paths csi-sanity makes.
    `-csi.stagingdir=${join(work, "staging")}`,
    `-csi.mountdir=${join(work, "mount")}`,
    `-csi.testvolumeaccesstype=${accessType}`,
    `-csi.testvolumesize=${64 * MiB}`,
    `-csi.testvolumeexpandsize=${128 * MiB}`,
    `-csi.testvolumeparameters=${params}`,
    `-csi.testsnapshotparameters=${snapParams}`,
    "-csi.testnodevolumeattachlimit",
    `-ginkgo.junit-report=${junit}`,
    "-ginkgo.no-color",
  ];
  let output = "";
  const code = await new Promise<number>((done) => {
    const child = spawn(csiSanity(), args, { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("exit", (c, signal) => done(c ?? (signal ? 128 : 1)));
  });
  return { code, output, junit: existsSync(junit) ? readFileSync(junit, "utf8") : "" };
}

function summary(junit: string): { tests: number; failures: number; errors: number; skipped: number } {
  const suite = /<testsuite\b[^>]*>/.exec(junit)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? Number.NaN);
  return {
    tests: attr("tests"),
    failures: attr("failures"),
    errors: attr("errors"),
    skipped: attr("skipped"),
  };
}

/** Names of the specs csi-sanity skipped. */
function skippedSpecs(junit: string): string[] {
  return [...junit.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)]
    .filter((m) => /<skipped\b/.test(m[2] ?? ""))
    .map((m) => m[1] ?? "");
}

describe("the driver images under csi-sanity", () => {
  it("runs the controller as its non-root user", async () => {
    const client = await getContainerRuntimeClient();
    const info = await client.container.getById(controller!.container.getId()).inspect();
    expect(info.Config.User).toBe("1000:1000");
    const status = readFileSync(`/proc/${info.State.Pid}/status`, "utf8");
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe("1000");
  });

  it.each(["mount", "block"] as const)("passes csi-sanity with %s volumes", async (accessType) => {
    const result = await runSanity(accessType);
    const tail = result.output.split("\n").slice(-80).join("\n");
    const logs = `controller:\n${controller!.logs.tail(20)}\nnode:\n${node!.logs.tail(20)}`;
    expect(result.code, `csi-sanity output:\n${tail}\n${logs}`).toBe(0);
    const s = summary(result.junit);
    process.stdout.write(`csi-sanity (${accessType}, images): ${JSON.stringify(s)}\n`);
    // The skips are the capabilities the driver does not advertise (README, "csi-sanity skips").
    expect(s.tests - s.skipped).toBeGreaterThan(50);
    expect(s.failures + s.errors).toBe(0);
    const skipped = skippedSpecs(result.junit);
    for (const spec of MUST_RUN) {
      expect(result.junit, spec).toContain(spec);
      expect(skipped.filter((name) => name.includes(spec))).toEqual([]);
    }
  });
});
