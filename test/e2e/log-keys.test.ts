/**
 * Every line the driver writes in a full run is one JSON object whose objects name each key once:
 * Elasticsearch, Loki's JSON stage and other log stores reject or mangle duplicate keys. The run
 * covers the controller, the node, the RouterOS client and connection, the reconciler and the
 * metrics server, at the most verbose level, with failing calls as well as successful ones.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";
import { freePort } from "../../src/demo/processes.js";
import { SnapshotScenario } from "../../src/demo/scenario.js";
import { parseStrictJson } from "../helpers/strict-json.js";
import { type FakeKube, startFakeKube } from "../reconcile/fake-kube.js";

const workDir = mkdtempSync(join(tmpdir(), "rds-csi-log-keys-"));
let kube: FakeKube;
let stack: LocalStack;
const savedKubeconfig = process.env.KUBECONFIG;

beforeAll(async () => {
  kube = await startFakeKube();
  process.env.KUBECONFIG = kube.kubeconfigPath;
  stack = await startLocalStack({
    workDir: join(workDir, "stack"),
    logLevel: "trace",
    driverArgs: [
      "--metrics-address",
      `127.0.0.1:${await freePort()}`,
      "--reconcile-interval",
      "1s",
      "--reconcile-passes",
      "2",
    ],
  });
});

afterAll(async () => {
  process.env.KUBECONFIG = savedKubeconfig;
  const problems = (await stack?.stop()) ?? [];
  await kube?.close();
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

describe("log lines of a full run", () => {
  it("are strict JSON with no key named twice, each naming the program once", async () => {
    const kubelet = join(workDir, "kubelet");
    const scenario = new SnapshotScenario({
      csi: stack.csi,
      workDir: kubelet,
      fsType: "ext4",
      volumeBytes: 64n * 1024n * 1024n,
    });
    let failure: unknown;
    try {
      await scenario.run();
    } catch (err) {
      failure = err;
    }
    expect(await scenario.cleanup()).toEqual([]);
    expect(failure).toBeUndefined();
    // Failures log through another path (warn with the mapped code).
    await expect(
      stack.csi.call("Controller", "CreateSnapshot", { name: "", source_volume_id: "pvc-nope" }),
    ).rejects.toMatchObject({ code: 3 });
    await expect(
      stack.csi.call("Controller", "ControllerExpandVolume", {
        volume_id: "pvc-00000000-0000-4000-8000-000000000000",
        capacity_range: { required_bytes: String(64 * 1024 * 1024), limit_bytes: "0" },
      }),
    ).rejects.toMatchObject({ code: 5 });
    const passes = () => stack.driver.output.filter((l) => l.includes("reconcile pass done"));
    for (let i = 0; i < 60 && passes().length < 2; i++) await new Promise((r) => setTimeout(r, 500));
    expect(passes().length).toBeGreaterThanOrEqual(2);
    expect(await stack.driver.stop()).toBe(0);

    const lines = stack.driver.output.filter((l) => l.trim() !== "");
    // The child keeps its last 20,000 lines; the whole run must fit so that every line is checked.
    expect(lines.length).toBeLessThan(20_000);
    expect(lines.length).toBeGreaterThan(100);
    const components = new Set<string>();
    const methods = new Set<string>();
    for (const line of lines) {
      let record: Record<string, unknown>;
      try {
        record = parseStrictJson(line) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${String(err)}\nline: ${line}`);
      }
      expect(record.name, line).toBe("rds-csi");
      if (typeof record.component === "string") components.add(record.component);
      if (typeof record.method === "string") methods.add(record.method);
    }
    expect([...components]).toEqual(expect.arrayContaining(["rds", "reconciler"]));
    expect([...methods]).toEqual(
      expect.arrayContaining(["CreateVolume", "NodeStageVolume", "CreateSnapshot", "ControllerExpandVolume"]),
    );
  });
});
