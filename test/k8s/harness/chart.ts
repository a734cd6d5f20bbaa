import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "./binaries.js";
import type { Kubectl, KubeObject } from "./kubectl.js";

const run = promisify(execFile);
export const RELEASE = "rds-csi";
export const NAMESPACE = "kube-system";
const HELM = process.env.HELM_BIN ?? path.join(process.env.HOME ?? "/root", "go/bin/helm");

/**
 * The snapshot CRDs of the external-snapshotter release the sidecars are built from, out of its
 * client module in the Go module cache (60-kubernetes.sh downloads it), installed as a cluster
 * admin would, then waited for until the API server serves them.
 */
export async function installSnapshotCrds(kubectl: Kubectl, snapshotterVersion: string): Promise<void> {
  const { stdout } = await run("go", [
    "mod",
    "download",
    "-json",
    `github.com/kubernetes-csi/external-snapshotter/client/v8@${snapshotterVersion}`,
  ]);
  const dir = path.join((JSON.parse(stdout) as { Dir: string }).Dir, "config/crd");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  await kubectl.run(["create", ...files.flatMap((f) => ["-f", path.join(dir, f)])]);
  await kubectl.run(
    ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
    undefined,
    70_000,
  );
}

/** `helm install` of charts/rds-csi into the API server; returns what the release installed. */
export async function installChart(kubeconfig: string, settings: string[]): Promise<KubeObject[]> {
  const chart = path.join(REPO_ROOT, "charts/rds-csi");
  const common = [`--kubeconfig=${kubeconfig}`, "--namespace", NAMESPACE];
  await run(HELM, ["install", RELEASE, chart, ...common, ...settings.flatMap((s) => ["--set", s])], {
    timeout: 120_000,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`helm install: ${err.stderr ?? err.message}`);
  });
  const { stdout } = await run(HELM, ["get", "manifest", RELEASE, ...common], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseManifest(stdout);
}

/**
 * `helm upgrade` of the installed release to charts/rds-csi as docs/install.md section 10 writes it
 * (`--reuse-values` plus `extraArgs`); resolves with helm's exit code and stderr instead of throwing.
 */
export async function upgradeChart(
  kubeconfig: string,
  extraArgs: string[],
): Promise<{ ok: boolean; stderr: string }> {
  const chart = path.join(REPO_ROOT, "charts/rds-csi");
  const args = ["upgrade", RELEASE, chart, `--kubeconfig=${kubeconfig}`, "-n", NAMESPACE, "--reuse-values"];
  try {
    await run(HELM, [...args, ...extraArgs], { timeout: 120_000 });
    return { ok: true, stderr: "" };
  } catch (err) {
    return { ok: false, stderr: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

export function parseManifest(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === "object" && "kind" in o);
}
