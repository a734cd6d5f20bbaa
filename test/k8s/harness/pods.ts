import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { KubeObject } from "./kubectl.js";

/**
 * Runs the containers of a rendered Deployment as local processes, as close to the pod as a machine
 * without a container runtime gets: the same arguments and environment, Secret references resolved
 * from the API server, each volume a local directory (emptyDir empty, projected Secrets written out)
 * and every path below a mount point rewritten to that directory. Listen addresses move to free
 * ports on 127.0.0.1, since every "pod" here shares one network namespace.
 */

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

interface Volume {
  name: string;
  emptyDir?: object;
  projected?: { sources: Array<{ secret?: { name: string; items?: Array<{ key: string; path: string }> } }> };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
}

export interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
  volumes?: Volume[];
}

/** A Secret's data, decoded. */
export type SecretReader = (name: string) => Promise<Record<string, Buffer>>;

/** The pod template of the Deployment `name` in a rendered manifest. */
export function deploymentPod(manifest: KubeObject[], name: string): PodSpec {
  const deployment = manifest.find((o) => o.kind === "Deployment" && o.metadata.name === name);
  if (!deployment) throw new Error(`the chart rendered no Deployment ${name}`);
  return (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

export function container(pod: PodSpec, name: string): Container {
  const found = pod.containers.find((c) => c.name === name);
  if (!found) throw new Error(`the pod has no container ${name}`);
  return found;
}

/** The image's name without registry and tag, and its tag: `registry.k8s.io/sig-storage/csi-resizer:v2.3.0` → [csi-resizer, v2.3.0]. */
export function imageNameAndTag(image: string): [string, string] {
  const at = image.lastIndexOf(":");
  const repo = at > image.lastIndexOf("/") ? image.slice(0, at) : image;
  const tag = at > image.lastIndexOf("/") ? image.slice(at + 1) : "latest";
  return [repo.slice(repo.lastIndexOf("/") + 1), tag];
}

export class LocalPod {
  readonly #volumes = new Map<string, string>();

  private constructor(
    readonly spec: PodSpec,
    readonly dir: string,
    private readonly secrets: SecretReader,
  ) {}

  /** Makes a directory for every volume of the pod below `dir`. */
  static async prepare(spec: PodSpec, dir: string, secrets: SecretReader): Promise<LocalPod> {
    const pod = new LocalPod(spec, dir, secrets);
    for (const volume of spec.volumes ?? []) {
      const local = path.join(dir, volume.name);
      mkdirSync(local, { recursive: true });
      pod.#volumes.set(volume.name, local);
      const sources = volume.secret
        ? [{ secret: { name: volume.secret.secretName, items: volume.secret.items } }]
        : (volume.projected?.sources ?? []);
      for (const { secret } of sources) {
        if (!secret) continue;
        const data = await secrets(secret.name);
        const items = secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
        for (const item of items) {
          const value = data[item.key];
          if (value === undefined) throw new Error(`Secret ${secret.name} has no key ${item.key}`);
          writeFileSync(path.join(local, item.path), value, { mode: 0o400 });
        }
      }
      if (!volume.emptyDir && sources.length === 0)
        throw new Error(`volume ${volume.name}: kind not supported here`);
    }
    return pod;
  }

  /** Rewrites paths below the container's mount points to the local volume directories. */
  localize(c: Container, value: string): string {
    const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
    for (const mount of mounts) {
      const local = this.#volumes.get(mount.name);
      if (!local) throw new Error(`container ${c.name} mounts unknown volume ${mount.name}`);
      const escaped = mount.mountPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const pattern = new RegExp(`(^|[=/])${escaped}(?=/|$)`);
      if (pattern.test(value)) return value.replace(pattern, (_, lead: string) => `${lead}${local}`);
    }
    return value;
  }

  /** The container's arguments with paths localized and listen addresses moved by `listen`. */
  args(c: Container, listen: (address: string) => string): string[] {
    return (c.args ?? []).map((arg) => {
      const m = /^(--[\w-]+=)(.*)$/.exec(arg);
      if (!m) return this.localize(c, arg);
      const [, flag, value] = m as unknown as [string, string, string];
      return `${flag}${isListenAddress(value) ? listen(value) : this.localize(c, value)}`;
    });
  }

  /** The container's environment, Secret references resolved, paths localized, listen addresses moved. */
  async env(c: Container, listen: (address: string) => string): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const v of c.env ?? []) {
      let value = v.value;
      const ref = v.valueFrom?.secretKeyRef;
      if (ref) {
        const data = (await this.secrets(ref.name))[ref.key];
        if (data === undefined && !ref.optional)
          throw new Error(`${v.name}: Secret ${ref.name} has no key ${ref.key}`);
        value = data?.toString("utf8");
      } else if (v.valueFrom) {
        throw new Error(`${v.name}: only secretKeyRef is supported here`);
      }
      if (value === undefined) continue;
      env[v.name] = isListenAddress(value) ? listen(value) : this.localize(c, value);
    }
    return env;
  }
}

/** `:8090` or `0.0.0.0:9809`: an address a container listens on. */
function isListenAddress(value: string): boolean {
  return /^(0\.0\.0\.0)?:\d+$/.test(value);
}
