import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { commonOptions, controllerOptions, nodeOptions } from "../../src/config.js";
import { k8sToolVersions } from "../k8s/harness/binaries.js";
import type { ManifestValidator } from "./k8s-schema.js";
import { createValidator } from "./schemas.js";
import {
  CHART_DIR,
  FULL_VALUES,
  helm,
  type K8sObject,
  parseManifests,
  REPO_ROOT,
  type RenderOptions,
  renderChart,
  renderChartError,
  toolVersions,
} from "./tools.js";
import {
  allContainers,
  argValue,
  type Container,
  container,
  containerNames,
  env,
  find,
  podTemplate,
  volume,
} from "./workloads.js";

const DRIVER = "rds.csi.mikrotik.com";
const SIG_STORAGE = "registry.k8s.io/sig-storage";
// The sidecars test/k8s runs must be the images the chart deploys: their versions come from the
// file the suite's build script reads.
const k8sTools = k8sToolVersions();
const PINNED = {
  provisioner: `${SIG_STORAGE}/csi-provisioner:${k8sTools.PROVISIONER_VERSION}`,
  snapshotter: `${SIG_STORAGE}/csi-snapshotter:${k8sTools.SNAPSHOTTER_VERSION}`,
  resizer: `${SIG_STORAGE}/csi-resizer:${k8sTools.RESIZER_VERSION}`,
  attacher: `${SIG_STORAGE}/csi-attacher:v4.13.0`,
  livenessprobe: `${SIG_STORAGE}/livenessprobe:v2.19.0`,
  registrar: `${SIG_STORAGE}/csi-node-driver-registrar:v2.17.0`,
  snapshotController: `${SIG_STORAGE}/snapshot-controller:${k8sTools.SNAPSHOTTER_VERSION}`,
};
const packageVersion = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }
).version;

const fullValues = parseYaml(readFileSync(FULL_VALUES, "utf8")) as {
  rds: { ssh: { privateKey: string; passphrase: string }; hostKey: { knownHosts: string } };
};

/** Inline credentials used by the tests that create the chart's Secret. */
const FINGERPRINT = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
const inlineCredentials = (key: string, extra: string[] = []): RenderOptions => ({
  set: [
    "rds.existingSecret=",
    "rds.address=192.0.2.1",
    `rds.ssh.privateKey=${key}`,
    `rds.hostKey.fingerprint=${FINGERPRINT}`,
    ...extra,
  ],
});

let validator: ManifestValidator;
let defaults: K8sObject[];
let full: K8sObject[];

beforeAll(() => {
  validator = createValidator();
  defaults = parseManifests(renderChart());
  full = parseManifests(renderChart({ valuesFiles: [FULL_VALUES], namespace: "storage", release: "t" }));
});

const controllerOf = (objs: K8sObject[], fullname = "rds-csi") =>
  find(objs, "Deployment", `${fullname}-controller`);
const nodeOf = (objs: K8sObject[], fullname = "rds-csi") => find(objs, "DaemonSet", `${fullname}-node`);
const render = (opts: RenderOptions) => parseManifests(renderChart(opts));
const checksum = (objs: K8sObject[]) =>
  podTemplate(controllerOf(objs)).metadata.annotations?.["checksum/credentials"];

describe("helm lint", () => {
  it.each([
    ["default values", []],
    ["the full example values", ["--values", FULL_VALUES]],
  ])("passes with %s, warnings included", (_label, extra) => {
    const r = helm(["lint", "--strict", CHART_DIR, ...extra]);
    expect(r.stderr + r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(r.status).toBe(0);
  });
});

describe.each([
  ["default values", () => defaults, "kube-system"],
  ["the full example values", () => full, "storage"],
])("objects rendered with %s", (_label, objects, namespace) => {
  it("all validate against the Kubernetes, snapshot and ServiceMonitor schemas", () => {
    const problems = objects().flatMap((o) =>
      validator.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`),
    );
    expect(problems).toEqual([]);
    expect(objects().length).toBeGreaterThan(15);
  });

  it("carry their namespace explicitly when namespaced, and none when cluster-scoped", () => {
    for (const o of objects()) {
      if (validator.isClusterScoped(o))
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else if (o.kind !== "ServiceMonitor")
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
    }
  });

  it("have unique kinds and names", () => {
    const keys = objects().map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("give classes only parameters the driver accepts (it refuses all but csi.storage.k8s.io/*)", () => {
    const classes = objects().filter((o) => o.kind === "StorageClass" || o.kind === "VolumeSnapshotClass");
    expect(classes).toHaveLength(2);
    for (const c of classes) {
      const keys = Object.keys((c.parameters as Record<string, string> | undefined) ?? {});
      expect(
        keys.filter((k) => !k.startsWith("csi.storage.k8s.io/")),
        c.kind,
      ).toEqual([]);
    }
  });

  it("set only environment variables the driver reads (besides extraEnv)", () => {
    const names = (opts: { envVar?: string }[]) => new Set(opts.map((o) => o.envVar).filter(Boolean));
    const controllerVars = names([...commonOptions(), ...controllerOptions()]);
    const nodeVars = names([...commonOptions(), ...nodeOptions()]);
    const extra = new Set(["NODE_OPTIONS"]);
    const fullname = objects() === full ? "rds-csi-full" : "rds-csi";
    // A variable that only exists to be expanded into another one (`$(HOST_IP)`) is read through it.
    const expanded = (c: Container) =>
      new Set(
        (c.env ?? []).flatMap((e) => [...(e.value ?? "").matchAll(/\$\(([A-Z_]+)\)/g)].map((m) => m[1])),
      );
    const unknown = (c: Container, known: Set<string | undefined>) =>
      (c.env ?? []).map((e) => e.name).filter((n) => !known.has(n) && !extra.has(n) && !expanded(c).has(n));
    expect(unknown(container(controllerOf(objects(), fullname), "rds-csi"), controllerVars)).toEqual([]);
    expect(unknown(container(nodeOf(objects(), fullname), "rds-csi"), nodeVars)).toEqual([]);
  });
});

describe("default values", () => {
  it("deploy csi-attacher for export fencing, and tell Kubernetes an attach step is needed", () => {
    const controller = controllerOf(defaults);
    expect(containerNames(controller)).toEqual([
      "rds-csi",
      "csi-provisioner",
      "csi-snapshotter",
      "csi-resizer",
      "csi-attacher",
      "liveness-probe",
    ]);
    expect(container(controller, "csi-attacher").image).toBe(PINNED.attacher);
    expect(find(defaults, "CSIDriver", DRIVER).spec).toMatchObject({
      attachRequired: true,
      podInfoOnMount: false,
      fsGroupPolicy: "File",
      volumeLifecycleModes: ["Persistent"],
    });
    const env = container(controller, "rds-csi").env ?? [];
    expect(env).toContainEqual({ name: "EXPORT_FENCING", value: "true" });
    expect(env).toContainEqual({ name: "RDS_ALLOW_HOST_LIST", value: "false" });
  });

  it("without csi-attacher, create volumes unfenced and need no attach step", () => {
    const objects = render({ set: ["sidecars.attacher.enabled=false"] });
    const controller = controllerOf(objects);
    expect(containerNames(controller)).not.toContain("csi-attacher");
    expect(objects.filter((o) => o.metadata.name.endsWith("-attacher"))).toEqual([]);
    expect((find(objects, "CSIDriver", DRIVER).spec as { attachRequired: boolean }).attachRequired).toBe(
      false,
    );
    expect(container(controller, "rds-csi").env).toContainEqual({ name: "EXPORT_FENCING", value: "false" });
  });

  it("pin every sidecar image to its tested version", () => {
    const controller = controllerOf(defaults);
    const node = nodeOf(defaults);
    expect(container(controller, "csi-provisioner").image).toBe(PINNED.provisioner);
    expect(container(controller, "csi-snapshotter").image).toBe(PINNED.snapshotter);
    expect(container(controller, "csi-resizer").image).toBe(PINNED.resizer);
    expect(container(controller, "liveness-probe").image).toBe(PINNED.livenessprobe);
    expect(container(node, "node-driver-registrar").image).toBe(PINNED.registrar);
    expect(container(node, "liveness-probe").image).toBe(PINNED.livenessprobe);
  });

  it("are validated against the snapshot CRDs of the external-snapshotter release they run", () => {
    // test/k8s installs the CRDs of SNAPSHOTTER_VERSION; the schema checks here must see the same ones.
    expect(toolVersions().SNAPSHOT_CRD_VERSION).toBe(k8sTools.SNAPSHOTTER_VERSION);
  });

  it("run the driver images of this version: appVersion follows package.json", () => {
    const chart = parseYaml(readFileSync(path.join(CHART_DIR, "Chart.yaml"), "utf8")) as {
      appVersion: string;
    };
    expect(chart.appVersion).toBe(packageVersion);
    expect(container(controllerOf(defaults), "rds-csi").image).toBe(
      `ghcr.io/rds-csi/rds-csi-controller:${packageVersion}`,
    );
    expect(container(nodeOf(defaults), "rds-csi").image).toBe(
      `ghcr.io/rds-csi/rds-csi-node:${packageVersion}`,
    );
    expect(container(controllerOf(defaults), "rds-csi").args).toEqual(["controller"]);
    expect(container(nodeOf(defaults), "rds-csi").args).toEqual(["node"]);
  });

  it("run the node plugin privileged and the controller unprivileged and non-root", () => {
    const node = nodeOf(defaults);
    expect(container(node, "rds-csi").securityContext).toMatchObject({ privileged: true, runAsUser: 0 });
    expect(podTemplate(node).spec.hostNetwork).toBe(true);
    const controller = controllerOf(defaults);
    expect(podTemplate(controller).spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
    });
    for (const c of podTemplate(controller).spec.containers) {
      expect(c.securityContext, c.name).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      expect(c.securityContext?.privileged, c.name).toBeUndefined();
    }
    const privileged = allContainers(defaults).filter(({ container: c }) => c.securityContext?.privileged);
    expect(privileged.map(({ owner, container: c }) => `${owner}/${c.name}`)).toEqual([
      "DaemonSet/rds-csi-node/rds-csi",
    ]);
  });

  it("give the node plugin /dev, /sys and the kubelet directory with mounts propagated back", () => {
    const node = nodeOf(defaults);
    expect(volume(node, "dev").hostPath?.path).toBe("/dev");
    expect(volume(node, "sys").hostPath?.path).toBe("/sys");
    expect(volume(node, "kubelet-dir").hostPath?.path).toBe("/var/lib/kubelet");
    expect(volume(node, "plugin-dir").hostPath?.path).toBe(`/var/lib/kubelet/plugins/${DRIVER}`);
    expect(volume(node, "registration-dir").hostPath?.path).toBe("/var/lib/kubelet/plugins_registry");
    const mounts = container(node, "rds-csi").volumeMounts ?? [];
    expect(mounts).toContainEqual({
      name: "kubelet-dir",
      mountPath: "/var/lib/kubelet",
      mountPropagation: "Bidirectional",
    });
    expect(argValue(container(node, "node-driver-registrar"), "--kubelet-registration-path")).toBe(
      `/var/lib/kubelet/plugins/${DRIVER}/csi.sock`,
    );
  });

  it("wire each driver container's liveness probe to its livenessprobe sidecar", () => {
    for (const workload of [controllerOf(defaults), nodeOf(defaults)]) {
      const driver = container(workload, "rds-csi");
      const probePort = driver.livenessProbe?.httpGet?.port;
      const port = driver.ports?.find((p) => p.name === probePort)?.containerPort;
      expect(port, workload.kind).toBeDefined();
      expect(argValue(container(workload, "liveness-probe"), "--http-endpoint")).toBe(`:${port}`);
      expect(argValue(container(workload, "liveness-probe"), "--csi-address")).toBe("/csi/csi.sock");
      expect(env(driver, "CSI_ENDPOINT")?.value).toBe("unix:///csi/csi.sock");
    }
  });

  it("pass PVC, PV and VolumeSnapshot names to the driver and elect one leader", () => {
    const controller = controllerOf(defaults);
    for (const name of ["csi-provisioner", "csi-snapshotter"]) {
      expect(container(controller, name).args).toContain("--extra-create-metadata");
    }
    for (const name of ["csi-provisioner", "csi-snapshotter", "csi-resizer"]) {
      expect(argValue(container(controller, name), "--leader-election")).toBe("true");
      expect(argValue(container(controller, name), "--leader-election-namespace")).toBe("kube-system");
      expect(argValue(container(controller, name), "--csi-address")).toBe("/csi/csi.sock");
    }
  });

  it("grant the controller's service account what every sidecar and the reconciler use", () => {
    const sa = "rds-csi-controller";
    const bound = defaults
      .filter((o) => o.kind === "ClusterRoleBinding")
      .filter((b) =>
        (b.subjects as { name: string; namespace: string }[]).some(
          (s) => s.name === sa && s.namespace === "kube-system",
        ),
      )
      .map((b) => find(defaults, "ClusterRole", (b.roleRef as { name: string }).name));
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const rules = bound.flatMap((r) => r.rules as Rule[]);
    const allows = (group: string, resource: string, verb: string) =>
      rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    // Reconciler
    for (const verb of ["get", "list", "watch"]) {
      expect(allows("", "persistentvolumes", verb)).toBe(true);
      expect(allows("snapshot.storage.k8s.io", "volumesnapshotcontents", verb)).toBe(true);
    }
    // Provisioner, snapshotter, resizer
    expect(allows("", "persistentvolumes", "create") && allows("", "persistentvolumes", "delete")).toBe(true);
    expect(allows("snapshot.storage.k8s.io", "volumesnapshotcontents/status", "update")).toBe(true);
    expect(allows("", "persistentvolumeclaims/status", "patch")).toBe(true);
    // Attacher
    expect(allows("storage.k8s.io", "volumeattachments/status", "patch")).toBe(true);
    expect(allows("storage.k8s.io", "volumeattachments", "patch")).toBe(true);
    expect(allows("storage.k8s.io", "csinodes", "get")).toBe(true);
    const leases = find(defaults, "Role", "rds-csi-leader-election").rules as Rule[];
    expect(leases).toContainEqual({
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "list", "watch", "create", "update", "delete"],
    });
  });

  it("run snapshot schedules by default, with their RBAC, and leave both out at interval 0", () => {
    const driver = container(controllerOf(defaults), "rds-csi");
    expect(env(driver, "SNAPSHOT_SCHEDULE_INTERVAL")?.value).toBe("30s");
    expect(env(driver, "SNAPSHOT_SCHEDULE_LEADER_ELECTION")?.value).toBe("true");
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const role = find(defaults, "ClusterRole", "rds-csi-snapshot-schedules");
    const binding = find(defaults, "ClusterRoleBinding", "rds-csi-snapshot-schedules");
    expect(binding.roleRef).toMatchObject({ kind: "ClusterRole", name: "rds-csi-snapshot-schedules" });
    expect(role.rules as Rule[]).toEqual(
      expect.arrayContaining([
        { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
        {
          apiGroups: ["snapshot.storage.k8s.io"],
          resources: ["volumesnapshots"],
          verbs: ["get", "list", "watch", "create", "delete"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      ]),
    );
    const off = render({ set: ["controller.snapshotSchedules.interval=0s"] });
    expect(env(container(controllerOf(off), "rds-csi"), "SNAPSHOT_SCHEDULE_INTERVAL")?.value).toBe("0s");
    expect(off.filter((o) => o.metadata.name === "rds-csi-snapshot-schedules")).toEqual([]);
  });

  it("create a StorageClass and a VolumeSnapshotClass for the driver", () => {
    const sc = find(defaults, "StorageClass", "rds-nvme");
    expect(sc).toMatchObject({
      provisioner: DRIVER,
      parameters: { "csi.storage.k8s.io/fstype": "ext4" },
      allowVolumeExpansion: true,
      reclaimPolicy: "Delete",
    });
    expect(find(defaults, "VolumeSnapshotClass", "rds-snapshot")).toMatchObject({
      driver: DRIVER,
      deletionPolicy: "Delete",
    });
  });

  it("expose metrics through a Service but leave the ServiceMonitor and snapshot-controller off", () => {
    const svc = find(defaults, "Service", "rds-csi-controller-metrics").spec as {
      ports: { name: string; targetPort: string }[];
    };
    expect(svc.ports[0]).toMatchObject({ name: "metrics", targetPort: "metrics" });
    expect(env(container(controllerOf(defaults), "rds-csi"), "METRICS_ADDRESS")?.value).toBe("0.0.0.0:9809");
    // The node plugin is on the host network: its metrics listen on the node's own address only.
    const node = container(nodeOf(defaults), "rds-csi");
    expect(env(node, "HOST_IP")).toEqual({
      name: "HOST_IP",
      valueFrom: { fieldRef: { fieldPath: "status.hostIP" } },
    });
    expect(env(node, "METRICS_ADDRESS")?.value).toBe("[$(HOST_IP)]:9819");
    const names = node.env?.map((e) => e.name) ?? [];
    expect(names.indexOf("HOST_IP")).toBeLessThan(names.indexOf("METRICS_ADDRESS"));
    expect(
      defaults.filter((o) => o.kind === "ServiceMonitor" || o.metadata.name.includes("snapshot-controller")),
    ).toEqual([]);
  });
});

describe("the full example values", () => {
  it("add csi-attacher, with attachRequired, its RBAC and pinned image", () => {
    const controller = controllerOf(full, "rds-csi-full");
    expect(containerNames(controller)).toContain("csi-attacher");
    expect(container(controller, "csi-attacher").image).toBe(
      PINNED.attacher.replace(SIG_STORAGE, "mirror.example.com/sig-storage"),
    );
    expect((find(full, "CSIDriver", DRIVER).spec as { attachRequired: boolean }).attachRequired).toBe(true);
    find(full, "ClusterRole", "rds-csi-full-attacher");
  });

  it("run the snapshot-controller at its pinned version and a ServiceMonitor", () => {
    const sc = find(full, "Deployment", "rds-csi-full-snapshot-controller");
    expect(container(sc, "snapshot-controller").image).toBe(
      PINNED.snapshotController.replace(SIG_STORAGE, "mirror.example.com/sig-storage"),
    );
    expect(find(full, "ServiceMonitor", "rds-csi-full").metadata.namespace).toBe("monitoring");
  });

  it("follow a non-default kubelet directory everywhere", () => {
    const node = nodeOf(full, "rds-csi-full");
    expect(volume(node, "kubelet-dir").hostPath?.path).toBe("/var/lib/k0s/kubelet");
    expect(volume(node, "registration-dir").hostPath?.path).toBe("/var/lib/k0s/kubelet/plugins_registry");
    expect(argValue(container(node, "node-driver-registrar"), "--kubelet-registration-path")).toBe(
      `/var/lib/k0s/kubelet/plugins/${DRIVER}/csi.sock`,
    );
  });
});

describe("credentials", () => {
  const secretLiterals = () => {
    const { privateKey, passphrase } = fullValues.rds.ssh;
    const lines = privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
    return [privateKey.trim(), passphrase, fullValues.rds.hostKey.knownHosts.trim(), ...lines];
  };

  it("default to the Secret rds-csi-credentials, and create no Secret", () => {
    const driver = container(controllerOf(defaults), "rds-csi");
    expect(env(driver, "RDS_ADDRESS")?.valueFrom?.secretKeyRef).toEqual({
      name: "rds-csi-credentials",
      key: "address",
    });
    expect(env(driver, "RDS_HOST_KEY_FINGERPRINT")?.valueFrom?.secretKeyRef).toEqual({
      name: "rds-csi-credentials",
      key: "host-key-fingerprint",
    });
    expect(env(driver, "RDS_KEY_FILE")?.value).toBe("/etc/rds-csi/ssh/ssh-privatekey");
    expect(volume(controllerOf(defaults), "ssh").projected?.sources).toEqual([
      { secret: { name: "rds-csi-credentials", items: [{ key: "ssh-privatekey", path: "ssh-privatekey" }] } },
    ]);
    expect(defaults.filter((o) => o.kind === "Secret")).toEqual([]);
  });

  it("never put a secret value in a container argument or environment literal", () => {
    const secrets = secretLiterals();
    expect(secrets.length).toBeGreaterThan(3);
    const fingerprintMode = render(
      inlineCredentials(fullValues.rds.ssh.privateKey, [
        `rds.ssh.passphrase=${fullValues.rds.ssh.passphrase}`,
      ]),
    );
    expect(env(container(controllerOf(fingerprintMode), "rds-csi"), "RDS_HOST_KEY_FINGERPRINT")?.value).toBe(
      FINGERPRINT,
    );
    for (const objects of [full, fingerprintMode]) {
      for (const { owner, container: c } of allContainers(objects)) {
        const literals = [
          ...(c.args ?? []),
          ...(c.command ?? []),
          ...(c.env ?? []).map((e) => e.value ?? ""),
        ];
        for (const s of secrets) {
          expect(
            literals.filter((l) => l.includes(s)),
            `${owner}/${c.name}`,
          ).toEqual([]);
        }
      }
      // Anywhere else outside the Secret, too (annotations, labels, ConfigMaps, NOTES-like comments).
      const elsewhere = JSON.stringify(objects.filter((o) => o.kind !== "Secret"));
      for (const s of secrets) expect(elsewhere.includes(JSON.stringify(s).slice(1, -1))).toBe(false);
    }
  });

  it("keep inline secret values in the chart's Secret and mount them as files", () => {
    const secret = find(full, "Secret", "rds-csi-full-ssh");
    const data = secret.data as Record<string, string>;
    const decoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    expect(decoded).toEqual({
      "ssh-privatekey": fullValues.rds.ssh.privateKey,
      passphrase: fullValues.rds.ssh.passphrase,
      known_hosts: fullValues.rds.hostKey.knownHosts,
    });
    const controller = controllerOf(full, "rds-csi-full");
    const driver = container(controller, "rds-csi");
    expect(env(driver, "RDS_KEY_PASSPHRASE_FILE")?.value).toBe("/etc/rds-csi/ssh/passphrase");
    expect(env(driver, "RDS_KNOWN_HOSTS_FILE")?.value).toBe("/etc/rds-csi/ssh/known_hosts");
    expect(env(driver, "RDS_USER")?.valueFrom?.secretKeyRef).toEqual({ name: "rds-user", key: "username" });
    expect(driver.volumeMounts).toContainEqual({
      name: "ssh",
      mountPath: "/etc/rds-csi/ssh",
      readOnly: true,
    });
  });

  it("roll the controller when a secret value changes, and only then", () => {
    const a = checksum(render(inlineCredentials("key-a")));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(render(inlineCredentials("key-a")))).toBe(a);
    expect(checksum(render(inlineCredentials("key-b")))).not.toBe(a);
    expect(checksum(render(inlineCredentials("key-a", ["rds.ssh.passphrase=p"])))).not.toBe(a);
    // Other settings reach the pod template through its env: the checksum covers credentials only.
    expect(checksum(render(inlineCredentials("key-a", ["logLevel=debug"])))).toBe(a);
    expect(checksum(render({ set: ["rds.existingSecret=other-credentials"] }))).not.toBe(checksum(defaults));
  });

  it("take a field from a per-field reference before the inline value and existingSecret", () => {
    const objs = render({
      set: [
        "rds.ssh.privateKey=inline-key",
        "rds.secretRefs.privateKey.name=vault-ssh",
        "rds.secretRefs.privateKey.key=id_ed25519",
        "rds.secretRefs.address.name=rds-endpoint",
      ],
    });
    const controller = controllerOf(objs);
    expect(volume(controller, "ssh").projected?.sources).toEqual([
      { secret: { name: "vault-ssh", items: [{ key: "id_ed25519", path: "ssh-privatekey" }] } },
    ]);
    expect(env(container(controller, "rds-csi"), "RDS_ADDRESS")?.valueFrom?.secretKeyRef).toEqual({
      name: "rds-endpoint",
      key: "address",
    });
  });

  it("read an encrypted key's passphrase from existingSecret only when told to", () => {
    const objs = render({ set: ["rds.ssh.passphraseFromExistingSecret=true"] });
    const controller = controllerOf(objs);
    expect(env(container(controller, "rds-csi"), "RDS_KEY_PASSPHRASE_FILE")?.value).toBe(
      "/etc/rds-csi/ssh/passphrase",
    );
    expect(volume(controller, "ssh").projected?.sources[0]?.secret?.items).toEqual([
      { key: "passphrase", path: "passphrase" },
      { key: "ssh-privatekey", path: "ssh-privatekey" },
    ]);
    expect(env(container(controllerOf(defaults), "rds-csi"), "RDS_KEY_PASSPHRASE_FILE")).toBeUndefined();
  });

  it("skip the host key check only when asked, by name", () => {
    const driver = container(controllerOf(render({ set: ["rds.hostKey.verification=insecure"] })), "rds-csi");
    expect(env(driver, "RDS_INSECURE_SKIP_HOST_KEY_CHECK")?.value).toBe("true");
    expect(env(driver, "RDS_HOST_KEY_FINGERPRINT")).toBeUndefined();
    expect(env(driver, "RDS_KNOWN_HOSTS_FILE")).toBeUndefined();
    expect(
      env(container(controllerOf(defaults), "rds-csi"), "RDS_INSECURE_SKIP_HOST_KEY_CHECK"),
    ).toBeUndefined();
  });

  it("refuse to render without an address, a key or a host key, saying which value to set", () => {
    expect(renderChartError({ set: ["rds.existingSecret="] })).toContain("rds.address is required");
    expect(renderChartError({ set: ["rds.existingSecret=", "rds.address=192.0.2.1"] })).toContain(
      "an SSH private key is required",
    );
    expect(renderChartError(inlineCredentials("key-a", ["rds.hostKey.fingerprint="]))).toContain(
      "rds.hostKey.verification=fingerprint needs rds.hostKey.fingerprint",
    );
    expect(renderChartError(inlineCredentials("key-a", ["rds.hostKey.verification=knownHosts"]))).toContain(
      "rds.hostKey.verification=knownHosts needs",
    );
  });
});

describe("values.schema.json", () => {
  it.each([
    ["an unknown key", "controller.replica=2", "additional properties 'replica' not allowed"],
    ["a filesystem the driver does not format", "storageClass.fsType=btrfs", "fsType"],
    ["a malformed host key fingerprint", "rds.hostKey.fingerprint=MD5:ab:cd", "fingerprint"],
    ["an upper-case root directory", "rds.root=K8s", "root"],
    ["more SSH channels than the driver allows", "rds.maxChannels=17", "maxChannels"],
    ["a duration with a space in it", "controller.reconciler.interval=1h 30m", "interval"],
  ])("rejects %s", (_label, setting, message) => {
    expect(renderChartError({ set: [setting] })).toContain(message);
  });
});

describe("pools", () => {
  it("pass rds.extraPools to the controller and give each extra StorageClass its pool", () => {
    const objs = render({
      set: [
        "rds.extraPools[0].name=fast",
        "rds.extraPools[1].name=archive",
        "rds.extraPools[1].fsLabel=archive-fs",
        "extraStorageClasses[0].name=rds-fast",
        "extraStorageClasses[0].pool=fast",
        "extraStorageClasses[1].name=rds-archive",
        "extraStorageClasses[1].pool=archive",
        "extraStorageClasses[1].reclaimPolicy=Retain",
        "storageClass.fsType=xfs",
      ],
    });
    expect(env(container(controllerOf(objs), "rds-csi"), "RDS_POOLS")?.value).toBe("fast,archive:archive-fs");
    const classes = objs.filter((o) => o.kind === "StorageClass");
    expect(classes.map((c) => c.metadata.name)).toEqual(["rds-nvme", "rds-fast", "rds-archive"]);
    const [main, fast, archive] = classes as [K8sObject, K8sObject, K8sObject];
    // The chart's class names no pool (the default one); the extra ones inherit its other values.
    expect(main.parameters).toEqual({ "csi.storage.k8s.io/fstype": "xfs" });
    expect(fast.parameters).toEqual({ "csi.storage.k8s.io/fstype": "xfs", pool: "fast" });
    expect(fast.reclaimPolicy).toBe("Delete");
    expect(archive.parameters).toEqual({ "csi.storage.k8s.io/fstype": "xfs", pool: "archive" });
    expect(archive.reclaimPolicy).toBe("Retain");
    expect(fast.metadata.annotations).toBeUndefined();
  });

  it("leave RDS_POOLS out by default, and refuse a pool name RouterOS could not have", () => {
    expect(env(container(controllerOf(defaults), "rds-csi"), "RDS_POOLS")).toBeUndefined();
    expect(renderChartError({ set: ["rds.extraPools[0].name=bad pool"] })).toContain("extraPools");
    expect(
      renderChartError({ set: ["extraStorageClasses[0].name=x", "extraStorageClasses[0].pool=a:b"] }),
    ).toContain("pool");
  });
});
