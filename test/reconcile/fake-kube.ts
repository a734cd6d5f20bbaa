/**
 * A small Kubernetes API server over real HTTP: cluster-scoped lists of PersistentVolumes and
 * VolumeSnapshotContents with `limit`/`continue` paging (each list is a consistent snapshot, as
 * etcd gives), bearer-token auth, and failures on demand. A kubeconfig file points at it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export type Resource = "persistentvolumes" | "volumesnapshotcontents";

const PATHS: Record<string, Resource> = {
  "/api/v1/persistentvolumes": "persistentvolumes",
  "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents": "volumesnapshotcontents",
};

export interface Failure {
  resource: Resource;
  /** Which page of a list fails (0 = the first request); any page when absent. */
  page?: number;
  /** Answer with this HTTP status and a Status object, */
  status?: number;
  /** or with this raw body and status 200, */
  body?: string;
  /** or never answer. */
  hang?: boolean;
  /** How many requests it affects; until cleared when absent. */
  times?: number;
}

export interface RecordedRequest {
  resource: Resource | undefined;
  path: string;
  limit: string | null;
  continueToken: string | null;
  authorized: boolean;
}

export interface FakeKube {
  readonly url: string;
  readonly kubeconfigPath: string;
  persistentVolumes: object[];
  snapshotContents: object[];
  /** False answers 404 for VolumeSnapshotContents, as a cluster without the snapshot CRDs does. */
  snapshotApiServed: boolean;
  /** The server pages at most this many items, whatever the client asks. */
  maxPageSize: number;
  /** coordination.k8s.io Leases by `namespace/name`, with optimistic concurrency on resourceVersion. */
  leases: Map<string, { metadata: { resourceVersion: string }; spec?: Record<string, unknown> }>;
  failures: Failure[];
  readonly requests: RecordedRequest[];
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function startFakeKube(): Promise<FakeKube> {
  const token = randomBytes(16).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "rds-kube-"));
  const sockets = new Set<Socket>();
  // Consistent list snapshots by continue token, like the API server's resourceVersion reads.
  const snapshots = new Map<string, { items: object[]; offset: number; resource: Resource }>();
  let resourceVersion = 1;

  const state: Omit<FakeKube, "url" | "kubeconfigPath" | "kubeConfig" | "close"> = {
    persistentVolumes: [],
    snapshotContents: [],
    snapshotApiServed: true,
    maxPageSize: 1_000,
    leases: new Map(),
    failures: [],
    requests: [],
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const resource = PATHS[url.pathname];
    const continueToken = url.searchParams.get("continue");
    const authorized = req.headers.authorization === `Bearer ${token}`;
    state.requests.push({
      resource,
      path: url.pathname,
      limit: url.searchParams.get("limit"),
      continueToken,
      authorized,
    });
    if (!authorized) return status(res, 401, "Unauthorized");
    const lease = LEASE_PATH.exec(url.pathname);
    if (lease) return void serveLease(req, res, lease, state.leases, () => String(resourceVersion++));
    if (req.method !== "GET" || resource === undefined) return status(res, 404, "NotFound");
    if (resource === "volumesnapshotcontents" && !state.snapshotApiServed) {
      return status(res, 404, "NotFound");
    }
    const page = continueToken === null ? 0 : Number(continueToken.split(".")[1] ?? "-1");
    const failure = takeFailure(state.failures, resource, page);
    if (failure?.hang) return;
    if (failure?.body !== undefined) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(failure.body);
    }
    if (failure?.status !== undefined) return status(res, failure.status, "Injected");

    let list: { items: object[]; offset: number; resource: Resource };
    if (continueToken === null) {
      const items = resource === "persistentvolumes" ? state.persistentVolumes : state.snapshotContents;
      list = { items: structuredClone(items), offset: 0, resource };
    } else {
      const stored = snapshots.get(continueToken);
      if (stored === undefined || stored.resource !== resource) return status(res, 410, "Expired");
      list = stored;
    }
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const size = Math.min(limit > 0 ? limit : Number.MAX_SAFE_INTEGER, state.maxPageSize);
    const items = list.items.slice(list.offset, list.offset + size);
    const nextOffset = list.offset + items.length;
    let next: string | undefined;
    if (nextOffset < list.items.length) {
      next = `${randomBytes(6).toString("hex")}.${page + 1}`;
      snapshots.set(next, { ...list, offset: nextOffset });
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        kind: resource === "persistentvolumes" ? "PersistentVolumeList" : "VolumeSnapshotContentList",
        apiVersion: resource === "persistentvolumes" ? "v1" : "snapshot.storage.k8s.io/v1",
        metadata: {
          resourceVersion: String(resourceVersion++),
          ...(next ? { continue: next, remainingItemCount: list.items.length - nextOffset } : {}),
        },
        items,
      }),
    );
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfigPath = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfigPath,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake",
      "  cluster:",
      `    server: ${url}`,
      // The client refuses plain HTTP unless TLS checks are off; there is no TLS to check here.
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: reconciler",
      "  user:",
      `    token: ${token}`,
      "contexts:",
      "- name: fake",
      "  context:",
      "    cluster: fake",
      "    user: reconciler",
      "current-context: fake",
      "",
    ].join("\n"),
  );

  return Object.assign(state, {
    url,
    kubeconfigPath,
    kubeConfig() {
      const kube = new KubeConfig();
      kube.loadFromFile(kubeconfigPath);
      return kube;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

const LEASE_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

/** GET, POST (create) and PUT (replace, refused with 409 on a stale resourceVersion) of one Lease. */
async function serveLease(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  [, namespace, name]: RegExpExecArray,
  leases: FakeKube["leases"],
  nextVersion: () => string,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {}) as {
    metadata?: { name?: string };
  };
  const key = `${namespace}/${name ?? body.metadata?.name}`;
  const current = leases.get(key);
  const reply = (code: number, object: object) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(object));
  };
  if (req.method === "GET" && name) return current ? reply(200, current) : status(res, 404, "NotFound");
  if (req.method === "POST" && !name) {
    if (current) return status(res, 409, "AlreadyExists");
    const created = { ...body, metadata: { ...body.metadata, resourceVersion: nextVersion() } };
    leases.set(key, created);
    return reply(201, created);
  }
  if (req.method === "PUT" && name) {
    if (!current) return status(res, 404, "NotFound");
    const sent = (body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (sent !== current.metadata.resourceVersion) return status(res, 409, "Conflict");
    const replaced = { ...body, metadata: { ...body.metadata, resourceVersion: nextVersion() } };
    leases.set(key, replaced);
    return reply(200, replaced);
  }
  return status(res, 405, "MethodNotAllowed");
}

function takeFailure(failures: Failure[], resource: Resource, page: number): Failure | undefined {
  const index = failures.findIndex(
    (f) => f.resource === resource && (f.page === undefined || f.page === page),
  );
  const failure = failures[index];
  if (failure === undefined) return undefined;
  if (failure.times !== undefined && --failure.times <= 0) failures.splice(index, 1);
  return failure;
}

function status(res: http.ServerResponse, code: number, reason: string): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      reason,
      code,
      message: `${reason} (fake API server)`,
    }),
  );
}

// ---- objects as the cluster holds them ----

export function persistentVolume(name: string, driver: string, volumeHandle: string): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, uid: randomBytes(8).toString("hex"), creationTimestamp: new Date().toISOString() },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "rds",
      csi: { driver, volumeHandle, fsType: "ext4" },
    },
    status: { phase: "Bound" },
  };
}

export function snapshotContent(
  name: string,
  driver: string,
  handles: { snapshotHandle?: string; sourceVolumeHandle?: string; preProvisioned?: boolean },
): object {
  const source = handles.preProvisioned
    ? { snapshotHandle: handles.snapshotHandle }
    : { volumeHandle: handles.sourceVolumeHandle };
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshotContent",
    metadata: { name, uid: randomBytes(8).toString("hex") },
    spec: {
      driver,
      deletionPolicy: "Delete",
      source,
      volumeSnapshotRef: { kind: "VolumeSnapshot", name: `vs-${name}`, namespace: "default" },
    },
    ...(handles.snapshotHandle && !handles.preProvisioned
      ? { status: { snapshotHandle: handles.snapshotHandle, readyToUse: true } }
      : {}),
  };
}
