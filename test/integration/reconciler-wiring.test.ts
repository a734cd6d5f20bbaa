/**
 * The reconciler as the controller process runs it: enabled by flags, reading the cluster through
 * the kubeconfig in KUBECONFIG (a real HTTP server), and off by default. Its rules are tested in
 * test/reconcile/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";
import { type FakeKube, startFakeKube } from "../reconcile/fake-kube.js";

const workDir = mkdtempSync(join(tmpdir(), "rds-csi-reconcile-wiring-"));
let kube: FakeKube;
let stack: LocalStack;
const savedKubeconfig = process.env.KUBECONFIG;

beforeAll(async () => {
  kube = await startFakeKube();
  // The driver child inherits the environment: this is how an in-cluster pod would find its API server.
  process.env.KUBECONFIG = kube.kubeconfigPath;
  stack = await startLocalStack({
    workDir: join(workDir, "stack"),
    logLevel: "info",
    driverArgs: ["--reconcile-interval", "1s", "--reconcile-grace-period", "1h", "--reconcile-passes", "2"],
  });
});

afterAll(async () => {
  process.env.KUBECONFIG = savedKubeconfig;
  const problems = (await stack?.stop()) ?? [];
  await kube?.close();
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

describe("reconciler in the controller process", () => {
  it("runs dry-run passes against the Kubernetes API and removes nothing", async () => {
    const res = await stack.csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", {
      name: "unclaimed",
      capacity_range: { required_bytes: String(16 * 1024 * 1024), limit_bytes: "0" },
      volume_capabilities: [{ block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
      parameters: {},
    });
    const done = () => stack.driver.output.filter((l) => l.includes("reconcile pass done"));
    for (let i = 0; i < 60 && done().length < 3; i++) await new Promise((r) => setTimeout(r, 500));
    expect(done().length).toBeGreaterThanOrEqual(3);
    expect(kube.requests.some((r) => r.path.startsWith("/api/v1/persistentvolumes"))).toBe(true);
    expect(kube.requests.every((r) => r.authorized)).toBe(true);
    // By default the passes run in the holder of the reconciler's Lease, named after the driver.
    expect([...kube.leases.keys()]).toEqual(["default/rds-csi-mikrotik-com-reconciler"]);
    // No PV names the volume, but it is younger than the grace period and the mode is dry-run.
    const validate = await stack.csi.call<{ confirmed: unknown }>(
      "Controller",
      "ValidateVolumeCapabilities",
      {
        volume_id: res.volume.volume_id,
        volume_capabilities: [{ block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
      },
    );
    expect(validate.confirmed).not.toBeNull();
    await stack.csi.call("Controller", "DeleteVolume", { volume_id: res.volume.volume_id });
  });
});
