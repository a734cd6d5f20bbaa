import { mkdirSync, readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { freePort } from "../../../src/demo/processes.js";
import { createPki, type Pki, writeKubeconfig } from "./pki.js";
import type { Processes } from "./processes.js";

/**
 * etcd, kube-apiserver and kube-controller-manager as processes on 127.0.0.1: the controller side
 * of a cluster without a kubelet or a container runtime. The controller manager is what binds
 * claims to the volumes the provisioner makes and runs the namespace and garbage collectors.
 */

export interface ControlPlane {
  port: number;
  pki: Pki;
  /** Cluster-admin kubeconfig (group system:masters). */
  adminKubeconfig: string;
}

const READY_TIMEOUT_MS = 120_000;

export async function startControlPlane(
  bin: string,
  dir: string,
  processes: Processes,
): Promise<ControlPlane> {
  const pkiDir = path.join(dir, "pki");
  mkdirSync(pkiDir, { recursive: true });
  const pki = createPki(pkiDir);
  const [etcdClient, etcdPeer, port] = [await freePort(), await freePort(), await freePort()];

  const etcd = processes.start("etcd", path.join(bin, "etcd"), [
    "--name=test",
    `--data-dir=${path.join(dir, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
    "--log-level=warn",
  ]);
  await etcd.whileRunning(waitForHttp(`http://127.0.0.1:${etcdClient}/health`, undefined));

  const apiserver = processes.start("kube-apiserver", path.join(bin, "kube-apiserver"), [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    "--authorization-mode=RBAC",
    "--allow-privileged=true",
    "--v=1",
  ]);
  const [adminCert, adminKey] = pki.client("admin", { user: "admin", groups: ["system:masters"] });
  const adminKubeconfig = writeKubeconfig(path.join(dir, "admin.kubeconfig"), {
    port,
    caCert: pki.caCert,
    user: { cert: adminCert, key: adminKey },
  });
  await apiserver.whileRunning(
    waitForHttp(`https://127.0.0.1:${port}/readyz`, {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(adminCert),
      key: readFileSync(adminKey),
    }),
  );

  const [kcmCert, kcmKey] = pki.client("kube-controller-manager", { user: "system:kube-controller-manager" });
  const kcmKubeconfig = writeKubeconfig(path.join(dir, "kube-controller-manager.kubeconfig"), {
    port,
    caCert: pki.caCert,
    user: { cert: kcmCert, key: kcmKey },
  });
  processes.start("kube-controller-manager", path.join(bin, "kube-controller-manager"), [
    `--kubeconfig=${kcmKubeconfig}`,
    `--authentication-kubeconfig=${kcmKubeconfig}`,
    `--authorization-kubeconfig=${kcmKubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${await freePort()}`,
    "--leader-elect=false",
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    "--controllers=*",
    "--v=1",
  ]);
  return { port, pki, adminKubeconfig };
}

/** Polls a health endpoint until it answers 200. */
export async function waitForHttp(
  url: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const status = await get(url, tls);
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${READY_TIMEOUT_MS} ms: ${last}`);
}

async function get(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined): Promise<number> {
  if (!tls) return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}
