import type { KubeConfig, ObservableMiddleware } from "@kubernetes/client-node";
import { z } from "zod";
import type { AttachedHosts } from "./attachments.js";

/**
 * The Kubernetes client library, loaded at the reconciler's first pass and not before: importing it
 * costs tens of MiB resident, which a controller with the reconciler off and every node plugin
 * should not pay. Nothing in this module imports it at load time (types only).
 */
type ClientLibrary = typeof import("@kubernetes/client-node");
let library: Promise<ClientLibrary> | undefined;

export function loadKubernetesClient(): Promise<ClientLibrary> {
  library ??= import("@kubernetes/client-node").catch((err: unknown) => {
    library = undefined;
    throw err;
  });
  return library;
}

/** A KubeConfig, a function making one, or undefined for the default (in-cluster / $KUBECONFIG). */
export type KubeSource = KubeConfig | (() => KubeConfig) | undefined;

/**
 * What the cluster says is alive: the volume handles of PersistentVolumes and the snapshot handles
 * of VolumeSnapshotContents. Lists are read completely (every page) or not at all: any error,
 * timeout or malformed page throws, and the caller must then do nothing — an object that could
 * not be listed is never "absent".
 */

export interface LiveObjects {
  /** Volume handles that must be kept: every PV's, and the source of a snapshot still being taken. */
  volumes: ReadonlySet<string>;
  /** Snapshot handles of VolumeSnapshotContents (status or pre-provisioned source). */
  snapshots: ReadonlySet<string>;
  /** PersistentVolumes naming this driver; zero makes every volume look orphaned, so it stops removals. */
  driverVolumes: number;
  /** VolumeSnapshotContents naming this driver. */
  driverSnapshots: number;
  /**
   * False when the API server does not serve VolumeSnapshotContents (the snapshot CRDs are not
   * installed): volumes can still be judged, snapshots cannot.
   */
  snapshotsKnown: boolean;
  /** With export fencing: the host NQNs VolumeAttachments give each volume (attachments.ts). */
  attachedHosts?: AttachedHosts;
}

export interface KubernetesReader {
  listLive(signal: AbortSignal): Promise<LiveObjects>;
}

export interface KubernetesReaderOptions {
  driverName: string;
  /** Upper bound for one list request. */
  requestTimeoutMs: number;
  /** Items asked for per page. */
  pageSize?: number;
}

/** A list of cluster objects could not be read completely. */
export class KubernetesListError extends Error {
  constructor(
    readonly resource: string,
    message: string,
    /** The server answered the first page with 404: it does not serve this resource at all. */
    readonly notServed = false,
    options?: { cause?: unknown },
  ) {
    super(`could not list ${resource}: ${message}`, options);
    this.name = "KubernetesListError";
  }
}

const DEFAULT_PAGE_SIZE = 500;
/** A continue chain longer than this is a server bug, not a cluster. */
const MAX_PAGES = 10_000;

const SNAPSHOT_GROUP = "snapshot.storage.k8s.io";
const SNAPSHOT_VERSION = "v1";
const SNAPSHOT_CONTENTS = "volumesnapshotcontents";

// Only the fields the reconciler reads; everything else in an object is ignored.
const listEnvelope = z.object({
  metadata: z.object({ continue: z.string().optional() }).optional(),
  items: z.array(z.unknown()),
});

const persistentVolume = z.object({
  spec: z
    .object({
      csi: z.object({ driver: z.string().optional(), volumeHandle: z.string().optional() }).optional(),
    })
    .optional(),
});

const snapshotContent = z.object({
  spec: z
    .object({
      driver: z.string().optional(),
      source: z
        .object({ volumeHandle: z.string().optional(), snapshotHandle: z.string().optional() })
        .optional(),
    })
    .optional(),
  status: z.object({ snapshotHandle: z.string().optional() }).optional(),
});

type Page = z.infer<typeof listEnvelope>;

/** Loads the client library and makes the config at the first list, not when the reader is made. */
export function createKubernetesReader(kube: KubeSource, options: KubernetesReaderOptions): KubernetesReader {
  const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let apis:
    | {
        lib: ClientLibrary;
        core: import("@kubernetes/client-node").CoreV1Api;
        custom: import("@kubernetes/client-node").CustomObjectsApi;
      }
    | undefined;

  return {
    async listLive(signal) {
      if (apis === undefined) {
        const lib = await loadKubernetesClient();
        const config =
          kube === undefined ? defaultKubeConfig(lib) : typeof kube === "function" ? kube() : kube;
        apis = {
          lib,
          core: config.makeApiClient(lib.CoreV1Api),
          custom: config.makeApiClient(lib.CustomObjectsApi),
        };
      }
      const { lib, core, custom } = apis;
      const requestOptions = () => ({
        middleware: [
          abortMiddleware(lib, AbortSignal.any([signal, AbortSignal.timeout(options.requestTimeoutMs)])),
        ],
        middlewareMergeStrategy: "append" as const,
      });
      const pvs = await listAll(lib, "persistentvolumes", (token) =>
        core.listPersistentVolume({ limit, _continue: token }, requestOptions()).then(plainList),
      );
      const vscs = await listSnapshotContents(lib, (token) =>
        custom.listClusterCustomObject(
          {
            group: SNAPSHOT_GROUP,
            version: SNAPSHOT_VERSION,
            plural: SNAPSHOT_CONTENTS,
            limit,
            _continue: token,
          },
          requestOptions(),
        ),
      );
      return liveObjects(options.driverName, pvs, vscs);
    },
  };
}

/** The default cluster connection: in-cluster service account, or $KUBECONFIG / ~/.kube/config. */
export function defaultKubeConfig(lib: ClientLibrary): KubeConfig {
  const kube = new lib.KubeConfig();
  kube.loadFromDefault();
  return kube;
}

/** VolumeSnapshotContents, or undefined when the API server does not serve the resource at all. */
async function listSnapshotContents(
  lib: ClientLibrary,
  fetchPage: (token: string | undefined) => Promise<unknown>,
): Promise<unknown[] | undefined> {
  try {
    return await listAll(lib, SNAPSHOT_CONTENTS, fetchPage);
  } catch (err) {
    if (err instanceof KubernetesListError && err.notServed) return undefined;
    throw err;
  }
}

/** Every item of a list, page by page; throws `KubernetesListError` unless every page was read (also used by the snapshot schedules). */
export async function listAll(
  lib: ClientLibrary,
  resource: string,
  fetchPage: (token: string | undefined) => Promise<unknown>,
): Promise<unknown[]> {
  const items: unknown[] = [];
  const tokens = new Set<string>();
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let body: unknown;
    try {
      body = await fetchPage(token);
    } catch (err) {
      // Only a 404 on the very first page means "no such resource"; a 404 later is a broken list.
      const notServed = page === 0 && err instanceof lib.ApiException && err.code === 404;
      throw new KubernetesListError(resource, describeFailure(lib, err), notServed, { cause: err });
    }
    const parsed = listEnvelope.safeParse(body);
    if (!parsed.success) throw new KubernetesListError(resource, `page ${page + 1} is not a list`);
    items.push(...parsed.data.items);
    const next = continueToken(parsed.data);
    if (next === undefined) return items;
    if (tokens.has(next)) throw new KubernetesListError(resource, "the server repeated a continue token");
    tokens.add(next);
    token = next;
  }
  throw new KubernetesListError(resource, `more than ${MAX_PAGES} pages`);
}

function continueToken(page: Page): string | undefined {
  const token = page.metadata?.continue;
  return token === undefined || token === "" ? undefined : token;
}

function liveObjects(driverName: string, pvs: unknown[], vscs: unknown[] | undefined): LiveObjects {
  const volumes = new Set<string>();
  const snapshots = new Set<string>();
  let driverVolumes = 0;
  let driverSnapshots = 0;
  for (const item of pvs) {
    const parsed = persistentVolume.safeParse(item);
    if (!parsed.success)
      throw new KubernetesListError("persistentvolumes", "an item is not a PersistentVolume");
    const csi = parsed.data.spec?.csi;
    if (csi?.volumeHandle === undefined) continue;
    // Any PV holding one of our handles keeps it, whatever driver it names: keeping is always safe.
    volumes.add(csi.volumeHandle);
    if (csi.driver === driverName) driverVolumes++;
  }
  for (const item of vscs ?? []) {
    const parsed = snapshotContent.safeParse(item);
    if (!parsed.success) {
      throw new KubernetesListError(SNAPSHOT_CONTENTS, "an item is not a VolumeSnapshotContent");
    }
    const { spec, status } = parsed.data;
    const handles = [status?.snapshotHandle, spec?.source?.snapshotHandle].filter((h) => h !== undefined);
    for (const handle of handles) snapshots.add(handle);
    // A snapshot still being taken has no handle yet; its source volume must stay until it has one.
    if (handles.length === 0 && spec?.source?.volumeHandle !== undefined)
      volumes.add(spec.source.volumeHandle);
    if (spec?.driver === driverName) driverSnapshots++;
  }
  return { volumes, snapshots, driverVolumes, driverSnapshots, snapshotsKnown: vscs !== undefined };
}

/**
 * The typed client turns `metadata.continue` into `metadata._continue`; back to the wire names so
 * both lists are read by the same code.
 */
export function plainList(list: { metadata?: { _continue?: string }; items: unknown[] }): unknown {
  return { metadata: { continue: list.metadata?._continue }, items: list.items };
}

/** Bounds each request: the object API's options take the client's own (observable) middleware. */
export function abortMiddleware(lib: ClientLibrary, signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (context) => {
      context.setSignal(signal);
      return new lib.Observable(Promise.resolve(context));
    },
    post: (context) => new lib.Observable(Promise.resolve(context)),
  };
}

export function describeFailure(lib: ClientLibrary, err: unknown): string {
  if (err instanceof lib.ApiException) return `HTTP ${err.code}`;
  if (err instanceof Error) return err.name === "AbortError" ? "timed out or cancelled" : err.message;
  return String(err);
}
