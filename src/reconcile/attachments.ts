import type { KubeConfig } from "@kubernetes/client-node";
import { z } from "zod";
import { parseNodeId } from "../csi/node-id.js";
import { allowedHosts, exportOfDisk, type VolumeObjects } from "../storage/index.js";
import type { Candidate } from "./classify.js";
import {
  defaultKubeConfig,
  KubernetesListError,
  type KubeSource,
  loadKubernetesClient,
} from "./kubernetes.js";

/**
 * Export fencing seen from the cluster: which host NQNs the VolumeAttachments of this driver give
 * each volume. A volume's `/disk` item that lets in a host no VolumeAttachment names (a publish
 * that RouterOS ran late, after the unpublish; a VolumeAttachment force-deleted while the attacher
 * was down; a hand edit) is a `stale-export` finding, and the revoke takes only those hosts away.
 */

/** Volume handle → host NQNs its VolumeAttachments name; a volume whose hosts cannot all be told is absent. */
export type AttachedHosts = ReadonlyMap<string, ReadonlySet<string>>;

const PAGE = 500;
const attachmentSchema = z.object({
  spec: z.object({
    attacher: z.string(),
    nodeName: z.string(),
    source: z.object({
      persistentVolumeName: z.string().optional(),
      inlineVolumeSpec: z.object({ csi: z.object({ volumeHandle: z.string() }).optional() }).optional(),
    }),
  }),
});
const csiNodeSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({ drivers: z.array(z.object({ name: z.string(), nodeID: z.string() })).nullish() }),
});
const pvSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({ csi: z.object({ volumeHandle: z.string() }).optional() }).optional(),
});

/** The reconciler's cluster connection, made once (the client library loads here, not at start). */
export async function resolveKubeConfig(kube: KubeSource): Promise<KubeConfig> {
  if (kube === undefined) return defaultKubeConfig(await loadKubernetesClient());
  return typeof kube === "function" ? kube() : kube;
}

/** Lists VolumeAttachments, CSINodes and PersistentVolumes completely, or throws. */
export async function listAttachedHosts(
  kube: KubeConfig,
  driverName: string,
  requestTimeoutMs: number,
  signal: AbortSignal,
): Promise<AttachedHosts> {
  // Loaded when export fencing is judged, like the rest of the client: not at start-up.
  const { CoreV1Api, StorageV1Api } = await loadKubernetesClient();
  const storage = kube.makeApiClient(StorageV1Api);
  const core = kube.makeApiClient(CoreV1Api);
  const bounded = () => AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]);
  const attachments = await everyPage("volumeattachments", bounded, (token) =>
    storage.listVolumeAttachment({ limit: PAGE, _continue: token }),
  );
  const csiNodes = await everyPage("csinodes", bounded, (token) =>
    storage.listCSINode({ limit: PAGE, _continue: token }),
  );
  const pvs = await everyPage("persistentvolumes", bounded, (token) =>
    core.listPersistentVolume({ limit: PAGE, _continue: token }),
  );
  return attachedHosts(driverName, attachments, csiNodes, pvs);
}

type ListPage = { metadata?: { _continue?: string }; items: unknown[] };

async function everyPage(
  resource: string,
  bounded: () => AbortSignal,
  fetch: (token: string | undefined) => Promise<ListPage>,
): Promise<unknown[]> {
  const items: unknown[] = [];
  let token: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const signal = bounded();
    let list: ListPage;
    try {
      list = await abortable(fetch(token), signal);
    } catch (err) {
      throw new KubernetesListError(resource, err instanceof Error ? err.message : String(err), false, {
        cause: err,
      });
    }
    items.push(...list.items);
    token = list.metadata?._continue || undefined;
    if (token === undefined) return items;
  }
  throw new KubernetesListError(resource, "too many pages");
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) reject(new Error("timed out or cancelled"));
    signal.addEventListener("abort", () => reject(new Error("timed out or cancelled")), { once: true });
    promise.then(resolve, reject);
  });
}

/** The pure part: which hosts each volume's VolumeAttachments name. */
export function attachedHosts(
  driverName: string,
  attachments: readonly unknown[],
  csiNodes: readonly unknown[],
  pvs: readonly unknown[],
): AttachedHosts {
  const handles = new Map<string, string>();
  for (const item of pvs) {
    const pv = parse(pvSchema, item, "persistentvolumes");
    if (pv.spec?.csi) handles.set(pv.metadata.name, pv.spec.csi.volumeHandle);
  }
  const nodeIds = new Map<string, string>();
  for (const item of csiNodes) {
    const node = parse(csiNodeSchema, item, "csinodes");
    const ours = node.spec.drivers?.find((d) => d.name === driverName);
    if (ours) nodeIds.set(node.metadata.name, ours.nodeID);
  }
  const hosts = new Map<string, Set<string>>();
  const untold = new Set<string>();
  for (const item of attachments) {
    const { spec } = parse(attachmentSchema, item, "volumeattachments");
    if (spec.attacher !== driverName) continue;
    const source = spec.source;
    const handle =
      source.inlineVolumeSpec?.csi?.volumeHandle ??
      (source.persistentVolumeName ? handles.get(source.persistentVolumeName) : undefined);
    if (handle === undefined) continue;
    const nodeId = nodeIds.get(spec.nodeName);
    const host = nodeId === undefined ? undefined : parseNodeId(nodeId)?.hostNqn;
    // A node whose host NQN cannot be told: the volume's exports cannot be judged this pass.
    if (host === undefined) untold.add(handle);
    else hosts.set(handle, (hosts.get(handle) ?? new Set()).add(host));
  }
  // Volumes with no attachment at all are allowed no host.
  for (const handle of handles.values()) if (!hosts.has(handle)) hosts.set(handle, new Set());
  for (const handle of untold) hosts.delete(handle);
  return hosts;
}

function parse<T>(schema: z.ZodType<T>, item: unknown, resource: string): T {
  const parsed = schema.safeParse(item);
  if (!parsed.success) throw new KubernetesListError(resource, "an item does not have the expected shape");
  return parsed.data;
}

/** A volume exported to hosts its VolumeAttachments do not name, or undefined. */
export function judgeExport(v: VolumeObjects, attached: AttachedHosts): Candidate | undefined {
  if (v.disk === null) return undefined;
  const named = attached.get(v.volumeId);
  if (named === undefined) return undefined;
  const hosts = allowedHosts(exportOfDisk(v.disk));
  const stale = hosts.filter((h) => !named.has(h));
  if (stale.length === 0) return undefined;
  return {
    type: "stale-export",
    id: v.volumeId,
    lockKeys: [v.volumeId],
    fingerprint: `allow=${[...hosts].sort().join(",")}`,
    // RouterOS prints no time for the change: age counts from first sight.
    createdAt: null,
    detail: `volume ${v.volumeId}: exported to ${stale.join(", ")}, which no VolumeAttachment names`,
  };
}

/** The hosts a revoke keeps: those the VolumeAttachments still name. */
export function hostsToKeep(v: VolumeObjects, attached: AttachedHosts): string[] {
  const named = attached.get(v.volumeId) ?? new Set<string>();
  return v.disk === null ? [] : allowedHosts(exportOfDisk(v.disk)).filter((h) => named.has(h));
}
