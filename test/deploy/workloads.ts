import type { K8sObject } from "./tools.js";

/** Typed views of the parts of rendered workloads the tests inspect. */

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: {
    privileged?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
  };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  projected?: { sources: { secret?: { name: string; items?: { key: string; path: string }[] } }[] };
}

export interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  hostNetwork?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  serviceAccountName?: string;
  priorityClassName?: string;
}

export interface PodTemplate {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: PodSpec;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(`no ${kind}/${name} among: ${have}`);
  }
  return found;
}

export function podTemplate(workload: K8sObject): PodTemplate {
  const spec = workload.spec as { template?: PodTemplate } | undefined;
  if (!spec?.template) throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  return spec.template;
}

export function container(workload: K8sObject, name: string): Container {
  const c = podTemplate(workload).spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`${workload.metadata.name} has no container ${name}`);
  return c;
}

export function containerNames(workload: K8sObject): string[] {
  return podTemplate(workload).spec.containers.map((c) => c.name);
}

export function allContainers(objects: K8sObject[]): { owner: string; container: Container }[] {
  return objects
    .filter((o) => (o.spec as { template?: unknown } | undefined)?.template !== undefined)
    .flatMap((o) =>
      podTemplate(o).spec.containers.map((c) => ({ owner: `${o.kind}/${o.metadata.name}`, container: c })),
    );
}

export function env(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

/** The value of a `--flag=value` argument, or undefined. */
export function argValue(c: Container, flag: string): string | undefined {
  const prefix = `${flag}=`;
  return c.args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

export function volume(workload: K8sObject, name: string): Volume {
  const v = podTemplate(workload).spec.volumes?.find((x) => x.name === name);
  if (!v) throw new Error(`${workload.metadata.name} has no volume ${name}`);
  return v;
}
