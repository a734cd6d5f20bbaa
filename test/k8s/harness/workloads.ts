import path from "node:path";
import { freePort } from "../../../src/demo/processes.js";
import { REPO_ROOT, SIDECAR_VERSION_KEYS, type Sidecar } from "./binaries.js";
import { NAMESPACE, RELEASE } from "./chart.js";
import { waitForHttp } from "./control-plane.js";
import type { Kubectl, KubeObject } from "./kubectl.js";
import { writeKubeconfig } from "./pki.js";
import { type Container, container, deploymentPod, imageNameAndTag, LocalPod, type PodSpec } from "./pods.js";
import type { Processes } from "./processes.js";

/**
 * The chart's controller-side workloads as processes: the controller Deployment (the driver and its
 * sidecars) and the snapshot-controller Deployment, each container with the chart's arguments and
 * environment, each pod acting as its own service account through a token the API server issued.
 */

const DRIVER_CONTAINER = "rds-csi";
/** Containers of the chart's controller pod that are not run here, and why. */
const NOT_RUN: Record<string, string> = {
  "liveness-probe":
    "kubernetes-csi/livenessprobe is not served by the Go module proxy; no kubelet probes here",
};

export interface WorkloadContext {
  bin: string;
  dir: string;
  versions: Record<string, string>;
  processes: Processes;
  admin: Kubectl;
  apiPort: number;
  caCert: string;
}

export interface ControllerPod {
  /** The driver's environment as the chart sets it (RDS_ROOT and so on). */
  driverEnv: Record<string, string>;
  /** A kubeconfig of the pod's service account. */
  kubeconfig: string;
}

/** The driver first (the sidecars wait for its socket anyway), then every sidecar of the pod. */
export async function startControllerPod(
  ctx: WorkloadContext,
  manifest: KubeObject[],
): Promise<ControllerPod> {
  const spec = deploymentPod(manifest, `${RELEASE}-controller`);
  const pod = await LocalPod.prepare(spec, path.join(ctx.dir, "controller-pod"), secretReader(ctx.admin));
  const driver = container(spec, DRIVER_CONTAINER);
  const metricsPort = await freePort();
  const driverEnv = await pod.env(driver, () => `127.0.0.1:${metricsPort}`);
  const process_ = ctx.processes.start(
    "rds-csi controller",
    process.execPath,
    [path.join(REPO_ROOT, "dist/cli.js"), ...pod.args(driver, (a) => a)],
    { PATH: process.env.PATH, ...driverEnv },
  );
  // The chart's readiness probe: ready once the driver has reached the RDS.
  await process_.whileRunning(waitForHttp(`http://127.0.0.1:${metricsPort}/readyz`, undefined));
  const kubeconfig = await serviceAccountKubeconfig(ctx, spec, "controller");
  for (const c of spec.containers) {
    if (c.name === DRIVER_CONTAINER || c.name in NOT_RUN) continue;
    await startSidecar(ctx, pod, c, kubeconfig);
  }
  return { driverEnv, kubeconfig };
}

export async function startSnapshotController(ctx: WorkloadContext, manifest: KubeObject[]): Promise<void> {
  const spec = deploymentPod(manifest, `${RELEASE}-snapshot-controller`);
  const pod = await LocalPod.prepare(
    spec,
    path.join(ctx.dir, "snapshot-controller-pod"),
    secretReader(ctx.admin),
  );
  const kubeconfig = await serviceAccountKubeconfig(ctx, spec, "snapshot-controller");
  for (const c of spec.containers) await startSidecar(ctx, pod, c, kubeconfig);
}

/** A sidecar container as a process: the binary its image names, at the version the image pins. */
async function startSidecar(
  ctx: WorkloadContext,
  pod: LocalPod,
  c: Container,
  kubeconfig: string,
): Promise<void> {
  const [name, tag] = imageNameAndTag(c.image);
  if (!(name in SIDECAR_VERSION_KEYS)) {
    throw new Error(`container ${c.name}: no ${name} binary is built (scripts/k8s-tools.env)`);
  }
  const pinned = ctx.versions[SIDECAR_VERSION_KEYS[name as Sidecar]];
  if (tag !== pinned) {
    throw new Error(`container ${c.name} runs ${name}:${tag}, scripts/k8s-tools.env builds ${pinned}`);
  }
  const port = await freePort();
  ctx.processes.start(c.name, path.join(ctx.bin, name), [
    ...pod.args(c, () => `127.0.0.1:${port}`),
    `--kubeconfig=${kubeconfig}`,
  ]);
}

/** What a pod of this service account would get: a bound token the API server signed. */
async function serviceAccountKubeconfig(ctx: WorkloadContext, spec: PodSpec, name: string): Promise<string> {
  const token = await ctx.admin.run([
    "-n",
    NAMESPACE,
    "create",
    "token",
    spec.serviceAccountName,
    "--duration=4h",
  ]);
  return writeKubeconfig(path.join(ctx.dir, `${name}.kubeconfig`), {
    port: ctx.apiPort,
    caCert: ctx.caCert,
    user: { token: token.trim() },
  });
}

function secretReader(admin: Kubectl) {
  return async (name: string): Promise<Record<string, Buffer>> => {
    const secret = await admin.get<{ data?: Record<string, string> }>("secret", name, NAMESPACE);
    if (!secret) throw new Error(`Secret ${name} not found`);
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]),
    );
  };
}
