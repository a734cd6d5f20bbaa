/**
 * The chart's settings for running the driver over time: controller replicas spread and protected
 * from drains, and the NVMe/TCP reconnect timeout.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ManifestValidator } from "./k8s-schema.js";
import { createValidator } from "./schemas.js";
import {
  type K8sObject,
  parseManifests,
  type RenderOptions,
  renderChart,
  renderChartError,
} from "./tools.js";
import { container, env, find, podTemplate } from "./workloads.js";

let validator: ManifestValidator;
beforeAll(() => {
  validator = createValidator();
});

const render = (...set: string[]): K8sObject[] =>
  parseManifests(renderChart({ set } satisfies RenderOptions));
const pdbs = (objs: K8sObject[]) => objs.filter((o) => o.kind === "PodDisruptionBudget");
const affinityOf = (objs: K8sObject[]) =>
  (podTemplate(find(objs, "Deployment", "rds-csi-controller")).spec as { affinity?: Record<string, unknown> })
    .affinity;
const SELECTOR = {
  "app.kubernetes.io/name": "rds-csi",
  "app.kubernetes.io/instance": "rds-csi",
  "app.kubernetes.io/component": "controller",
};

describe("controller replicas", () => {
  it("one replica: no PodDisruptionBudget (it would block every drain) and no anti-affinity", () => {
    const objs = render();
    expect(pdbs(objs)).toEqual([]);
    expect(affinityOf(objs)).toBeUndefined();
  });

  it("more than one: a PodDisruptionBudget over the controller pods, valid against the schema", () => {
    const objs = render("controller.replicas=3");
    const [pdb] = pdbs(objs);
    expect(pdbs(objs)).toHaveLength(1);
    expect(validator.validate(pdb!)).toEqual([]);
    expect(pdb!.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
    expect(pdbs(render("controller.replicas=3", "controller.podDisruptionBudget.enabled=false"))).toEqual([]);
  });

  it("more than one: spread over nodes, preferred by default, required when hard, or not at all", () => {
    const term = { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: SELECTOR } };
    expect(affinityOf(render("controller.replicas=2"))).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
      },
    });
    expect(affinityOf(render("controller.replicas=2", "controller.podAntiAffinity=hard"))).toEqual({
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] },
    });
    expect(affinityOf(render("controller.replicas=2", "controller.podAntiAffinity=none"))).toBeUndefined();
    const own = render("controller.replicas=2", "controller.affinity.nodeAffinity.x=1");
    expect(affinityOf(own)).toEqual({ nodeAffinity: { x: 1 } });
    for (const o of render("controller.replicas=2", "controller.podAntiAffinity=hard")) {
      expect(validator.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    }
  });

  it("refuses an unknown anti-affinity mode", () => {
    expect(renderChartError({ set: ["controller.podAntiAffinity=strict"] })).toMatch(/podAntiAffinity/);
  });
});

describe("NVMe/TCP reconnect settings", () => {
  const nodeEnv = (objs: K8sObject[], name: string) =>
    env(container(find(objs, "DaemonSet", "rds-csi-node"), "rds-csi"), name)?.value;

  it("reach the node plugin, 30m and 5s by default, in Go's duration form", () => {
    expect(nodeEnv(render(), "NVME_CTRL_LOSS_TIMEOUT")).toBe("30m");
    expect(nodeEnv(render(), "NVME_RECONNECT_DELAY")).toBe("5s");
    const objs = render("node.nvme.ctrlLossTimeout=1h30m", "node.nvme.reconnectDelay=10s");
    expect(nodeEnv(objs, "NVME_CTRL_LOSS_TIMEOUT")).toBe("1h30m");
    expect(nodeEnv(objs, "NVME_RECONNECT_DELAY")).toBe("10s");
    expect(nodeEnv(render("node.nvme.ctrlLossTimeout=forever"), "NVME_CTRL_LOSS_TIMEOUT")).toBe("forever");
  });

  it("are checked by the values schema", () => {
    expect(renderChartError({ set: ["node.nvme.ctrlLossTimeout=half an hour"] })).toMatch(/ctrlLossTimeout/);
    expect(renderChartError({ set: ["controller.reconciler.interval=10 minutes"] })).toMatch(/interval/);
    expect(() =>
      render("controller.reconciler.interval=1h30m", "controller.reconciler.gracePeriod=90m"),
    ).not.toThrow();
  });
});

describe("VolumeSnapshotClass for backup tools", () => {
  it("takes extra labels (Velero finds its class by one) and annotations, keeping the chart's own", () => {
    const dir = mkdtempSync(join(tmpdir(), "rds-csi-vsc-"));
    const values = join(dir, "values.yaml");
    writeFileSync(
      values,
      [
        "volumeSnapshotClass:",
        "  labels:",
        '    velero.io/csi-volumesnapshot-class: "true"',
        "  annotations:",
        "    example.com/owner: backup",
        "",
      ].join("\n"),
    );
    const objs = parseManifests(renderChart({ valuesFiles: [values] }));
    rmSync(dir, { recursive: true, force: true });
    const vsc = find(objs, "VolumeSnapshotClass", "rds-snapshot");
    expect(vsc.metadata.labels).toMatchObject({
      "velero.io/csi-volumesnapshot-class": "true",
      "app.kubernetes.io/name": "rds-csi",
    });
    expect(vsc.metadata.annotations).toEqual({
      "snapshot.storage.kubernetes.io/is-default-class": "true",
      "example.com/owner": "backup",
    });
    expect(validator.validate(vsc)).toEqual([]);
  });
});

describe("two driver instances side by side (several RDS units)", () => {
  const SECOND = join(import.meta.dirname, "../../charts/rds-csi/ci/second-instance-values.yaml");
  const first = () => parseManifests(renderChart({ release: "rds-csi" }));
  const second = () => parseManifests(renderChart({ release: "rds-b", valuesFiles: [SECOND] }));
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const driverEnv = (objs: K8sObject[], kind: string, name: string) =>
    env(container(find(objs, kind, name), "rds-csi"), "DRIVER_NAME")?.value;
  /** What the node plugin takes on the host: its ports (host network) and its kubelet plugin paths. */
  const hostClaims = (objs: K8sObject[], fullname: string) => {
    const pod = podTemplate(find(objs, "DaemonSet", `${fullname}-node`)).spec as {
      containers: { ports?: { containerPort: number }[]; args?: string[] }[];
      volumes: { hostPath?: { path: string } }[];
    };
    const ports = pod.containers.flatMap((c) => (c.ports ?? []).map((p) => `port ${p.containerPort}`));
    const paths = pod.volumes.flatMap((v) =>
      v.hostPath?.path.includes("/plugins/") ? [v.hostPath.path] : [],
    );
    return [...ports, ...paths.map((p) => `path ${p}`)];
  };

  it("share no object, driver name, class, host port or kubelet socket path", () => {
    const a = first();
    const b = second();
    const keysA = new Set(a.map(key));
    expect(b.map(key).filter((k) => keysA.has(k))).toEqual([]);
    expect(find(b, "CSIDriver", "rds-b.csi.mikrotik.com")).toBeDefined();
    expect(driverEnv(b, "Deployment", "rds-b-rds-csi-controller")).toBe("rds-b.csi.mikrotik.com");
    expect(driverEnv(b, "DaemonSet", "rds-b-rds-csi-node")).toBe("rds-b.csi.mikrotik.com");
    expect(driverEnv(a, "DaemonSet", "rds-csi-node")).toBe("rds.csi.mikrotik.com");
    expect(find(b, "StorageClass", "rds-b-nvme").provisioner).toBe("rds-b.csi.mikrotik.com");
    expect(find(b, "VolumeSnapshotClass", "rds-b-snapshot").driver).toBe("rds-b.csi.mikrotik.com");
    const claimsA = hostClaims(a, "rds-csi");
    const claimsB = hostClaims(b, "rds-b-rds-csi");
    expect(claimsB.some((c) => c.includes("/plugins/rds-b.csi.mikrotik.com"))).toBe(true);
    expect(claimsB.filter((c) => claimsA.includes(c))).toEqual([]);
    const registration = container(find(b, "DaemonSet", "rds-b-rds-csi-node"), "node-driver-registrar");
    expect(registration.args).toContain(
      "--kubelet-registration-path=/var/lib/kubelet/plugins/rds-b.csi.mikrotik.com/csi.sock",
    );
    for (const o of b) expect(validator.validate(o), key(o)).toEqual([]);
  });

  it("refuses a driver name the driver itself would refuse", () => {
    expect(renderChartError({ set: ["driverName=-bad-"] })).toMatch(/driverName/);
  });
});
