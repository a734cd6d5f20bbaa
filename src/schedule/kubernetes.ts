import type { CoreV1Api, CustomObjectsApi, StorageV1Api } from "@kubernetes/client-node";
import { z } from "zod";
import {
  abortMiddleware,
  defaultKubeConfig,
  describeFailure,
  type KubeSource,
  listAll,
  loadKubernetesClient,
  plainList,
} from "../reconcile/kubernetes.js";

/**
 * What the snapshot schedules read and write in the cluster: StorageClasses and PVCs (read),
 * VolumeSnapshots carrying the schedule's label (list, create, delete), Events on PVCs (create).
 * The client library is loaded at the first call, so a controller with schedules off never pays
 * for it. Lists are read completely or the call throws; the caller then does nothing that pass.
 */

export interface ClassInfo {
  name: string;
  provisioner: string;
  annotations: Record<string, string>;
}

export interface ClaimInfo {
  namespace: string;
  name: string;
  uid: string;
  created: number;
  phase: string;
  storageClassName?: string;
  annotations: Record<string, string>;
  /** The VolumeSnapshot it is restored from (dataSource or dataSourceRef), if any. */
  restoresFrom?: string;
}

export interface ScheduledSnapshotInfo {
  namespace: string;
  name: string;
  pvcName: string;
  /** The slot the schedule recorded; creation time when the annotation is missing or unreadable. */
  slot: number;
  deleting: boolean;
  /** Not ready and no error yet: its CreateSnapshot has not ended. */
  taking: boolean;
}

export interface NewScheduledSnapshot {
  namespace: string;
  name: string;
  pvcName: string;
  slot: number;
  snapshotClass?: string;
}

export interface ScheduleCluster {
  listClasses(): Promise<ClassInfo[]>;
  listClaims(): Promise<ClaimInfo[]>;
  listScheduledSnapshots(): Promise<ScheduledSnapshotInfo[]>;
  /** False when it already existed (another pass or controller made it). */
  createSnapshot(snapshot: NewScheduledSnapshot): Promise<boolean>;
  /** Deletes it if it is still there. */
  deleteSnapshot(namespace: string, name: string): Promise<void>;
  /** A Warning Event on the PVC. */
  warn(claim: Pick<ClaimInfo, "namespace" | "name" | "uid">, reason: string, message: string): Promise<void>;
}

/** The label every scheduled VolumeSnapshot carries, and the annotation holding its slot. */
export function scheduleMarks(driverName: string): { label: string; slotAnnotation: string } {
  return { label: `${driverName}/scheduled-snapshot`, slotAnnotation: `${driverName}/snapshot-slot` };
}

const GROUP = "snapshot.storage.k8s.io";
const VERSION = "v1";
const PLURAL = "volumesnapshots";
const PAGE = 500;

const metadata = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const source = z.object({ kind: z.string().optional(), apiGroup: z.string().optional(), name: z.string() });
const claim = z.object({
  metadata,
  spec: z
    .object({
      storageClassName: z.string().optional(),
      dataSource: source.optional(),
      dataSourceRef: source.optional(),
    })
    .optional(),
  status: z.object({ phase: z.string().optional() }).optional(),
});
const storageClass = z.object({ metadata, provisioner: z.string() });
const volumeSnapshot = z.object({
  metadata,
  spec: z.object({ source: z.object({ persistentVolumeClaimName: z.string().optional() }) }),
  status: z
    .object({ readyToUse: z.boolean().optional(), error: z.object({}).passthrough().optional() })
    .optional(),
});

export function createScheduleCluster(
  kube: KubeSource,
  options: { driverName: string; requestTimeoutMs: number; component: string },
): ScheduleCluster {
  type Lib = Awaited<ReturnType<typeof loadKubernetesClient>>;
  let apis: { lib: Lib; core: CoreV1Api; storage: StorageV1Api; custom: CustomObjectsApi } | undefined;
  const connect = async () => {
    if (apis === undefined) {
      const lib = await loadKubernetesClient();
      const config = kube === undefined ? defaultKubeConfig(lib) : typeof kube === "function" ? kube() : kube;
      apis = {
        lib,
        core: config.makeApiClient(lib.CoreV1Api),
        storage: config.makeApiClient(lib.StorageV1Api),
        custom: config.makeApiClient(lib.CustomObjectsApi),
      };
    }
    return apis;
  };
  const bounded = (lib: Lib) => ({
    middleware: [abortMiddleware(lib, AbortSignal.timeout(options.requestTimeoutMs))],
    middlewareMergeStrategy: "append" as const,
  });
  const marks = scheduleMarks(options.driverName);
  /** Runs a request; an HTTP status in `ok` is an answer, not an error. */
  const tolerate = async <T>(lib: Lib, request: Promise<T>, ok: number[]): Promise<T | number> => {
    try {
      return await request;
    } catch (err) {
      if (err instanceof lib.ApiException && ok.includes(err.code)) return err.code;
      throw new Error(describeFailure(lib, err), { cause: err });
    }
  };

  return {
    async listClasses() {
      const { lib, storage } = await connect();
      const items = await listAll(lib, "storageclasses", (token) =>
        storage.listStorageClass({ limit: PAGE, _continue: token }, bounded(lib)).then(plainList),
      );
      return items.map((item) => {
        const c = storageClass.parse(item);
        return {
          name: c.metadata.name,
          provisioner: c.provisioner,
          annotations: c.metadata.annotations ?? {},
        };
      });
    },

    async listClaims() {
      const { lib, core } = await connect();
      const items = await listAll(lib, "persistentvolumeclaims", (token) =>
        core
          .listPersistentVolumeClaimForAllNamespaces({ limit: PAGE, _continue: token }, bounded(lib))
          .then(plainList),
      );
      return items.map((item) => claimInfo(claim.parse(item)));
    },

    async listScheduledSnapshots() {
      const { lib, custom } = await connect();
      const items = await listAll(lib, PLURAL, (token) =>
        custom.listClusterCustomObject(
          {
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            labelSelector: marks.label,
            limit: PAGE,
            _continue: token,
          },
          bounded(lib),
        ),
      );
      return items.flatMap((item) => {
        const parsed = volumeSnapshot.safeParse(item);
        const pvcName = parsed.data?.spec.source.persistentVolumeClaimName;
        if (!parsed.success || pvcName === undefined || parsed.data.metadata.namespace === undefined)
          return [];
        const m = parsed.data.metadata;
        const slot = time(m.annotations?.[marks.slotAnnotation]) ?? time(m.creationTimestamp);
        if (slot === undefined) return [];
        return [
          {
            namespace: m.namespace!,
            name: m.name,
            pvcName,
            slot,
            deleting: m.deletionTimestamp !== undefined,
            taking: parsed.data.status?.readyToUse !== true && parsed.data.status?.error === undefined,
          },
        ];
      });
    },

    async createSnapshot(s) {
      const { lib, custom } = await connect();
      const body = {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "VolumeSnapshot",
        metadata: {
          name: s.name,
          namespace: s.namespace,
          labels: { [marks.label]: "true" },
          annotations: { [marks.slotAnnotation]: new Date(s.slot).toISOString() },
        },
        spec: {
          ...(s.snapshotClass ? { volumeSnapshotClassName: s.snapshotClass } : {}),
          source: { persistentVolumeClaimName: s.pvcName },
        },
      };
      const answer = await tolerate(
        lib,
        custom.createNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace: s.namespace, body },
          bounded(lib),
        ),
        [409],
      );
      return answer !== 409;
    },

    async deleteSnapshot(namespace, name) {
      const { lib, custom } = await connect();
      await tolerate(
        lib,
        custom.deleteNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace, name },
          bounded(lib),
        ),
        [404],
      );
    },

    async warn(pvc, reason, message) {
      const { lib, core } = await connect();
      const now = new Date();
      await tolerate(
        lib,
        core.createNamespacedEvent(
          {
            namespace: pvc.namespace,
            body: {
              metadata: { generateName: `${pvc.name.slice(0, 200)}.`, namespace: pvc.namespace },
              involvedObject: {
                apiVersion: "v1",
                kind: "PersistentVolumeClaim",
                namespace: pvc.namespace,
                name: pvc.name,
                uid: pvc.uid,
              },
              reason,
              message,
              type: "Warning",
              source: { component: options.component },
              reportingComponent: options.component,
              firstTimestamp: now,
              lastTimestamp: now,
              count: 1,
            },
          },
          bounded(lib),
        ),
        [],
      );
    },
  };
}

function claimInfo(c: z.infer<typeof claim>): ClaimInfo {
  const from = [c.spec?.dataSourceRef, c.spec?.dataSource].find(
    (s) => s?.kind === "VolumeSnapshot" && (s.apiGroup ?? GROUP) === GROUP,
  );
  return {
    namespace: c.metadata.namespace ?? "default",
    name: c.metadata.name,
    uid: c.metadata.uid ?? "",
    created: time(c.metadata.creationTimestamp) ?? 0,
    phase: c.status?.phase ?? "Pending",
    ...(c.spec?.storageClassName !== undefined ? { storageClassName: c.spec.storageClassName } : {}),
    annotations: c.metadata.annotations ?? {},
    ...(from ? { restoresFrom: from.name } : {}),
  };
}

function time(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
