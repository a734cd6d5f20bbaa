import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const INSTALL_SCRIPT = path.join(REPO_ROOT, ".ci/install.d/60-kubernetes.sh");
export const TOOLS_ENV = path.join(REPO_ROOT, "scripts/k8s-tools.env");

export const BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kubectl",
  "snapshot-controller",
  "csi-snapshotter",
  "csi-provisioner",
  "csi-resizer",
  "csi-attacher",
] as const;
export type Binary = (typeof BINARIES)[number];

/** Each sidecar binary, by the name its image has, and the key of scripts/k8s-tools.env pinning it. */
export const SIDECAR_VERSION_KEYS = {
  "csi-provisioner": "PROVISIONER_VERSION",
  "csi-snapshotter": "SNAPSHOTTER_VERSION",
  "snapshot-controller": "SNAPSHOTTER_VERSION",
  "csi-resizer": "RESIZER_VERSION",
  "csi-attacher": "ATTACHER_VERSION",
} as const satisfies Partial<Record<Binary, string>>;
export type Sidecar = keyof typeof SIDECAR_VERSION_KEYS;

/** scripts/k8s-tools.env as a map: the one place the suite's component versions are pinned. */
export function k8sToolVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(TOOLS_ENV, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line);
    if (m) versions[m[1]!] = m[2]!;
  }
  return versions;
}

/**
 * The directory holding the pinned binaries. The install script is idempotent and answers from its
 * cache in well under a second; on a machine that never ran setup.sh it builds them (about 20
 * minutes from cold Go caches), which is why CI runs it at setup time.
 */
export function binDir(): string {
  const out = execFileSync("bash", [INSTALL_SCRIPT], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 60 * 60_000,
  });
  const dir = out.trim().split("\n").at(-1) ?? "";
  const missing = BINARIES.filter((b) => !existsSync(path.join(dir, b)));
  if (missing.length > 0) throw new Error(`${INSTALL_SCRIPT} left ${dir} without ${missing.join(", ")}`);
  return dir;
}
