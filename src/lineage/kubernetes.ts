import { z } from "zod";
import {
  abortMiddleware,
  KubernetesListError,
  listAll,
  loadKubernetesClient,
  plainList,
} from "../reconcile/kubernetes.js";
import type { KubernetesNames } from "./build.js";
import type { SnapshotNames, VolumeNames } from "./model.js";

/**
 * The Kubernetes names of the driver's objects: the PersistentVolume and claim holding each volume
 * handle, the VolumeSnapshotContent and VolumeSnapshot holding each snapshot handle. Two lists (every
 * page), whatever the number of objects. The client library is loaded here, only when asked.
 */
export interface KubernetesNamesOptions {
  /**
   * A kubeconfig file the API server and credentials come from; absent: the default, as the
   * reconciler's (the pod's service account in a cluster, else $KUBECONFIG or ~/.kube/config).
   */
  kubeconfigPath?: string;
  /** Only objects naming this CSI driver are read. */
  driverName: string;
  /** Upper bound for one list request. */
  requestTimeoutMs: number;
  signal?: AbortSignal;
}

const PAGE_SIZE = 500;

const persistentVolume = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z
    .object({
      csi: z.object({ driver: z.string().optional(), volumeHandle: z.string().optional() }).optional(),
      claimRef: z.object({ namespace: z.string().optional(), name: z.string().optional() }).optional(),
    })
    .optional(),
});

const snapshotContent = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z
    .object({
      driver: z.string().optional(),
      source: z.object({ snapshotHandle: z.string().optional() }).optional(),
      volumeSnapshotRef: z
        .object({ namespace: z.string().optional(), name: z.string().optional() })
        .optional(),
    })
    .optional(),
  status: z.object({ snapshotHandle: z.string().optional() }).optional(),
});

/** The names, or empty maps and the reason when the cluster could not be read (never half a list). */
export async function readKubernetesNames(options: KubernetesNamesOptions): Promise<KubernetesNames> {
  try {
    return await readNames(options);
  } catch (err) {
    return {
      volumes: new Map(),
      snapshots: new Map(),
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

async function readNames(options: KubernetesNamesOptions): Promise<KubernetesNames> {
  const lib = await loadKubernetesClient();
  const config = new lib.KubeConfig();
  if (options.kubeconfigPath === undefined) config.loadFromDefault();
  else config.loadFromFile(options.kubeconfigPath);
  const core = config.makeApiClient(lib.CoreV1Api);
  const custom = config.makeApiClient(lib.CustomObjectsApi);
  const requestOptions = () => ({
    middleware: [
      abortMiddleware(
        lib,
        AbortSignal.any([
          ...(options.signal ? [options.signal] : []),
          AbortSignal.timeout(options.requestTimeoutMs),
        ]),
      ),
    ],
    middlewareMergeStrategy: "append" as const,
  });

  const volumes = new Map<string, VolumeNames>();
  const pvs = await listAll(lib, "persistentvolumes", (token) =>
    core.listPersistentVolume({ limit: PAGE_SIZE, _continue: token }, requestOptions()).then(plainList),
  );
  for (const item of pvs) {
    const pv = persistentVolume.safeParse(item);
    const csi = pv.success ? pv.data.spec?.csi : undefined;
    if (!pv.success || csi?.driver !== options.driverName || csi.volumeHandle === undefined) continue;
    const claim = pv.data.spec?.claimRef;
    volumes.set(csi.volumeHandle, {
      pv: pv.data.metadata.name,
      ...(claim?.namespace && claim.name ? { pvc: { namespace: claim.namespace, name: claim.name } } : {}),
    });
  }

  const snapshots = new Map<string, SnapshotNames>();
  let contents: unknown[] = [];
  try {
    contents = await listAll(lib, "volumesnapshotcontents", (token) =>
      custom.listClusterCustomObject(
        {
          group: "snapshot.storage.k8s.io",
          version: "v1",
          plural: "volumesnapshotcontents",
          limit: PAGE_SIZE,
          _continue: token,
        },
        requestOptions(),
      ),
    );
  } catch (err) {
    // A cluster without the snapshot CRDs has no snapshot names to give; anything else is an error.
    if (!(err instanceof KubernetesListError && err.notServed)) throw err;
  }
  for (const item of contents) {
    const vsc = snapshotContent.safeParse(item);
    if (!vsc.success || vsc.data.spec?.driver !== options.driverName) continue;
    const handle = vsc.data.status?.snapshotHandle ?? vsc.data.spec?.source?.snapshotHandle;
    if (handle === undefined) continue;
    const ref = vsc.data.spec?.volumeSnapshotRef;
    snapshots.set(handle, {
      volumeSnapshotContent: vsc.data.metadata.name,
      ...(ref?.namespace && ref.name ? { volumeSnapshot: { namespace: ref.namespace, name: ref.name } } : {}),
    });
  }
  return { volumes, snapshots };
}
