import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { binDir, k8sToolVersions, REPO_ROOT } from "./binaries.js";
import { installChart, installSnapshotCrds, NAMESPACE } from "./chart.js";
import { startControlPlane } from "./control-plane.js";
import { Kubectl } from "./kubectl.js";
import { Processes } from "./processes.js";
import { startControllerPod, startSnapshotController, type WorkloadContext } from "./workloads.js";

/** What the test files need to reach the cluster and the RDS; plain data, handed over by vitest. */
export interface ClusterInfo {
  bin: string;
  adminKubeconfig: string;
  /** The chart's controller service account: what the sidecars and the reconciler act as. */
  controllerKubeconfig: string;
  driverName: string;
  /** The driver's RDS_ROOT as the chart sets it. */
  driverRoot: string;
  sim: Pick<
    SimFixture,
    "host" | "port" | "user" | "privateKeyPath" | "hostKeyFingerprint" | "poolMountPath" | "pool" | "fsLabel"
  >;
}

export interface Cluster {
  info: ClusterInfo;
  stop(): Promise<void>;
}

/**
 * Brings up the whole controller side: control plane, snapshot CRDs, the chart installed with
 * helm, the emulator, the driver and every sidecar run with the chart's own flags and service
 * accounts. On any failure everything started so far is stopped before the error is thrown.
 */
export async function startCluster(): Promise<Cluster> {
  checkBuild();
  const bin = binDir();
  const versions = k8sToolVersions();
  const dir = mkdtempSync(path.join(tmpdir(), "rds-csi-k8s-"));
  const processes = new Processes();
  let sim: SimFixture | undefined;
  const stop = async () => {
    if (process.env.RDS_CSI_K8S_LOGS) processes.saveLogs(process.env.RDS_CSI_K8S_LOGS);
    const problems = await processes.stopAll();
    if (problems.length > 0) process.stderr.write(`k8s suite: ${problems.join("; ")}\n`);
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const plane = await startControlPlane(bin, dir, processes);
    const admin = new Kubectl(bin, plane.adminKubeconfig);
    await installSnapshotCrds(admin, versions.SNAPSHOTTER_VERSION!);

    // The API server creates its system namespaces shortly after it turns ready.
    await admin.waitFor(`namespace ${NAMESPACE}`, () => admin.get("namespace", NAMESPACE));
    sim = await startSim({ size: "4G" });
    // The recommended way of docs/install.md section 4: the credentials in a Secret of their own.
    await admin.run([
      "-n",
      NAMESPACE,
      "create",
      "secret",
      "generic",
      "rds-csi-credentials",
      `--from-literal=address=${sim.host}`,
      `--from-file=ssh-privatekey=${sim.privateKeyPath}`,
      `--from-literal=host-key-fingerprint=${sim.hostKeyFingerprint}`,
    ]);
    const manifest = await installChart(plane.adminKubeconfig, [
      `rds.port=${sim.port}`,
      `rds.user=${sim.user}`,
      `rds.pool=${sim.pool}`,
      // This cluster has no snapshot-controller: the chart's own one is run.
      "snapshotController.enabled=true",
      // Snapshot schedules stay on (their RBAC is the chart's) but the deployed controller's first
      // pass is an hour away and it elects no leader: schedules.k8s.ts runs its passes itself.
      "controller.snapshotSchedules.interval=1h",
      "controller.snapshotSchedules.leaderElection=false",
    ]);
    const csiDriver = manifest.find((o) => o.kind === "CSIDriver");
    if (!csiDriver) throw new Error("the chart installed no CSIDriver");
    const ctx: WorkloadContext = {
      bin,
      dir,
      versions,
      processes,
      admin,
      apiPort: plane.port,
      caCert: plane.pki.caCert,
    };
    const controller = await startControllerPod(ctx, manifest);
    await startSnapshotController(ctx, manifest);
    return {
      info: {
        bin,
        adminKubeconfig: plane.adminKubeconfig,
        controllerKubeconfig: controller.kubeconfig,
        driverName: csiDriver.metadata.name,
        driverRoot: controller.driverEnv.RDS_ROOT ?? "rds-csi",
        sim: {
          host: sim.host,
          port: sim.port,
          user: sim.user,
          privateKeyPath: sim.privateKeyPath,
          hostKeyFingerprint: sim.hostKeyFingerprint,
          poolMountPath: sim.poolMountPath,
          pool: sim.pool,
          fsLabel: sim.fsLabel,
        },
      },
      stop: async () => {
        const crashed = processes.crashed();
        await stop();
        if (crashed.length > 0) throw new Error(`processes exited during the suite:\n${crashed.join("\n")}`);
      },
    };
  } catch (err) {
    const crashed = processes.crashed();
    await stop();
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}${crashed.length ? `\n${crashed.join("\n")}` : ""}`,
      { cause: err },
    );
  }
}

/** dist/ must be the working tree's code: the driver runs from it, as in the image. */
function checkBuild(): void {
  const cli = path.join(REPO_ROOT, "dist/cli.js");
  if (!existsSync(cli)) throw new Error("dist/cli.js is missing: run npm run build");
  const built = statSync(cli).mtimeMs;
  const changed = readdirSync(path.join(REPO_ROOT, "src"), { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".ts") && statSync(path.join(REPO_ROOT, "src", f)).mtimeMs > built,
  );
  if (changed.length > 0) throw new Error(`dist/ is older than src/${changed[0]}: run npm run build`);
}
