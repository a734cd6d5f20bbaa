import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "./harness/binaries.js";
import { NAMESPACE, parseManifest } from "./harness/chart.js";
import { Kubectl } from "./harness/kubectl.js";

// A second driver instance (another RDS, its own driver name) installed with helm beside the
// release the suite runs: the API server accepts both, and nothing of one belongs to the other.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const run = promisify(execFile);
const HELM = process.env.HELM_BIN ?? path.join(process.env.HOME ?? "/root", "go/bin/helm");
const SECOND = "rds-b";

describe("two driver instances in one cluster", () => {
  it("helm installs a second release beside the first without clashing, and uninstalls it alone", async () => {
    const common = [`--kubeconfig=${info.adminKubeconfig}`, "--namespace", NAMESPACE];
    const chart = path.join(REPO_ROOT, "charts/rds-csi");
    const values = path.join(chart, "ci/second-instance-values.yaml");
    try {
      await run(HELM, ["install", SECOND, chart, ...common, "--values", values], { timeout: 120_000 }).catch(
        (err: Error & { stderr?: string }) => {
          throw new Error(`helm install ${SECOND}: ${err.stderr ?? err.message}`);
        },
      );
      const { stdout } = await run(HELM, ["get", "manifest", SECOND, ...common], { maxBuffer: 16 << 20 });
      const objects = parseManifest(stdout);
      expect(objects.length).toBeGreaterThan(15);
      const drivers = (await kubectl.list("csidriver")).map((d) => d.metadata.name).sort();
      expect(drivers).toEqual([info.driverName, "rds-b.csi.mikrotik.com"].sort());
      const classes = await kubectl.list<{ metadata: { name: string }; provisioner: string }>("storageclass");
      expect(classes.find((c) => c.metadata.name === "rds-b-nvme")?.provisioner).toBe(
        "rds-b.csi.mikrotik.com",
      );
    } finally {
      await run(HELM, ["uninstall", SECOND, ...common, "--wait"], { timeout: 120_000 }).catch(() => {});
    }
    // The first release is untouched.
    expect((await kubectl.list("csidriver")).map((d) => d.metadata.name)).toEqual([info.driverName]);
    expect(await kubectl.get("deployment", "rds-csi-controller", NAMESPACE)).toBeDefined();
  });
});
