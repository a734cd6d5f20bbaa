import { buildInventory, decodeVolumeComment, type Layout, type Listings } from "../storage/index.js";
import {
  type Deletion,
  type Edge,
  type EdgeKind,
  LINEAGE_SCHEMA,
  type Lineage,
  type LineageNode,
  type SnapshotNames,
  type SnapshotNode,
  type VolumeNames,
  type VolumeNode,
} from "./model.js";

export interface LineageInput {
  layout: Layout;
  listings: Listings;
  generatedAt: Date;
  kubernetes?: KubernetesNames;
}

/** What the API server said, by volume and snapshot handle; or why it could not be asked. */
export interface KubernetesNames {
  volumes: ReadonlyMap<string, VolumeNames>;
  snapshots: ReadonlyMap<string, SnapshotNames>;
  error?: string;
}

/**
 * Builds the lineage from the listings of the driver's root (one per table and folder, whatever the
 * number of objects) and, when Kubernetes was asked, the names it gave. Pure: no I/O.
 *
 * The relations come from what the RDS itself shows: a snapshot's path names the volume it was
 * taken of, a volume's `/disk` comment names the snapshot or volume it was made from. A source that
 * is gone appears as a node with `present: false`, so its dependants keep their place in the tree.
 */
export function buildLineage(input: LineageInput): Lineage {
  const nodes = collectNodes(input);
  const tree = arrange(nodes);
  for (const node of tree.order) {
    if (node.present) node.deletion = deletionOf(node, nodes, tree.children.get(node.id) ?? []);
  }
  const k = input.kubernetes;
  return {
    schema: LINEAGE_SCHEMA,
    generatedAt: input.generatedAt.toISOString(),
    pool: input.layout.pool,
    root: input.layout.root,
    kubernetes:
      k === undefined
        ? { consulted: false }
        : k.error
          ? { consulted: false, error: k.error }
          : { consulted: true },
    nodes: tree.order,
    edges: tree.edges,
    roots: tree.roots,
  };
}

/** Every present volume and snapshot, and a placeholder for each source that is gone. */
function collectNodes(input: LineageInput): Map<string, LineageNode> {
  const { layout, listings, kubernetes } = input;
  const inventory = buildInventory(layout, listings);
  const nodes = new Map<string, LineageNode>();

  for (const objects of inventory.volumes.values()) {
    // A volume exists when its `/disk` item does (src/storage/README.md); remains of a
    // half-made create or delete are the reconciler's business, not lineage.
    if (objects.disk === null) continue;
    const meta = decodeVolumeComment(objects.disk.comment ?? undefined);
    const source = meta?.source;
    const names = { ...meta?.names, ...kubernetes?.volumes.get(objects.volumeId) };
    nodes.set(objects.volumeId, {
      kind: "volume",
      id: objects.volumeId,
      present: true,
      sizeBytes: bytes(objects.disk.fileSize ?? objects.image?.size ?? null),
      createdAt: iso(objects.subvolume?.creationTime ?? null),
      source:
        source === undefined
          ? null
          : source.kind === "snapshot"
            ? { kind: "snapshot", id: source.snapshotId }
            : { kind: "volume", id: source.volumeId },
      kubernetes: names.pv || names.pvc ? names : null,
      deletion: null,
    });
  }

  const imageSizes = new Map<string, bigint | null>();
  for (const file of listings.snapshotFiles) {
    const location = layout.parseSnapshotImage(file.name);
    if (location !== undefined) imageSizes.set(location.snapshotId, file.size);
  }
  for (const snapshot of inventory.snapshots) {
    // What the RDS recorded at CreateSnapshot, overridden by what the API server says now.
    const recorded: SnapshotNames | undefined = snapshot.names && {
      volumeSnapshot: { namespace: snapshot.names.namespace, name: snapshot.names.name },
      ...(snapshot.names.content === undefined ? {} : { volumeSnapshotContent: snapshot.names.content }),
    };
    const names = { ...recorded, ...kubernetes?.snapshots.get(snapshot.snapshotId) };
    nodes.set(snapshot.snapshotId, {
      kind: "snapshot",
      id: snapshot.snapshotId,
      present: true,
      sourceVolumeId: snapshot.sourceVolumeId,
      sizeBytes: bytes(imageSizes.get(snapshot.snapshotId) ?? null),
      createdAt: iso(snapshot.subvolume.creationTime),
      readyToUse: snapshot.subvolume.readOnly,
      kubernetes: names.volumeSnapshot || names.volumeSnapshotContent ? names : null,
      deletion: null,
    });
  }

  // Placeholders for gone sources, after every present node is known.
  for (const node of [...nodes.values()]) {
    const parent = parentOf(node);
    if (parent === undefined || nodes.has(parent.id)) continue;
    nodes.set(
      parent.id,
      parent.kind === "volume"
        ? goneVolume(parent.id)
        : goneSnapshot(parent.id, kubernetes?.snapshots.get(parent.id)),
    );
  }
  return nodes;
}

function goneVolume(id: string): VolumeNode {
  return {
    kind: "volume",
    id,
    present: false,
    sizeBytes: null,
    createdAt: null,
    source: null,
    kubernetes: null,
    deletion: null,
  };
}

function goneSnapshot(id: string, names: SnapshotNames | undefined): SnapshotNode {
  return {
    kind: "snapshot",
    id,
    present: false,
    sourceVolumeId: null,
    sizeBytes: null,
    createdAt: null,
    readyToUse: false,
    kubernetes: names ?? null,
    deletion: null,
  };
}

/** The node this one was made from, and how; undefined for a root. */
function parentOf(
  node: LineageNode,
): { id: string; kind: "volume" | "snapshot"; edge: EdgeKind } | undefined {
  if (node.kind === "snapshot") {
    return node.sourceVolumeId === null
      ? undefined
      : { id: node.sourceVolumeId, kind: "volume", edge: "snapshot" };
  }
  if (node.source === null) return undefined;
  return node.source.kind === "snapshot"
    ? { id: node.source.id, kind: "snapshot", edge: "restore" }
    : { id: node.source.id, kind: "volume", edge: "clone" };
}

interface Tree {
  order: LineageNode[];
  edges: Edge[];
  roots: string[];
  children: Map<string, LineageNode[]>;
}

/** Orders the nodes depth first from the roots, siblings oldest first. */
function arrange(nodes: Map<string, LineageNode>): Tree {
  const children = new Map<string, LineageNode[]>();
  const roots: LineageNode[] = [];
  for (const node of nodes.values()) {
    const parent = parentOf(node);
    if (parent === undefined) {
      roots.push(node);
      continue;
    }
    const siblings = children.get(parent.id);
    if (siblings) siblings.push(node);
    else children.set(parent.id, [node]);
  }
  for (const list of children.values()) list.sort(byAge);
  roots.sort(byAge);

  const tree: Tree = { order: [], edges: [], roots: [], children };
  const visited = new Set<string>();
  const walk = (root: LineageNode) => {
    tree.roots.push(root.id);
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (visited.has(node.id)) continue;
      visited.add(node.id);
      tree.order.push(node);
      const parent = parentOf(node);
      if (node !== root && parent !== undefined)
        tree.edges.push({ from: parent.id, to: node.id, kind: parent.edge });
      const below = children.get(node.id) ?? [];
      for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
    }
  };
  for (const root of roots) walk(root);
  // Only a cycle of sources leaves nodes unreached (a name deleted and made again from its own
  // descendant); each such cycle is shown from its oldest member.
  for (const node of [...nodes.values()].sort(byAge)) {
    if (!visited.has(node.id)) walk(node);
  }
  return tree;
}

function byAge(a: LineageNode, b: LineageNode): number {
  if (a.createdAt !== b.createdAt) {
    if (a.createdAt === null) return 1;
    if (b.createdAt === null) return -1;
    return a.createdAt < b.createdAt ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function deletionOf(node: LineageNode, nodes: Map<string, LineageNode>, below: LineageNode[]): Deletion {
  const dependants = below.filter((n) => n.present).map((n) => n.id);
  const parent = parentOf(node);
  const source = parent !== undefined && nodes.get(parent.id)?.present ? [parent.id] : [];
  const none =
    node.kind === "volume" ? "no snapshot or clone was made from it" : "no volume was restored from it";
  return {
    safe: dependants.length === 0,
    dependants,
    sharesWith: [...source, ...dependants],
    freesAtMostBytes: node.sizeBytes,
    reason:
      dependants.length === 0
        ? `${none}: deleting it takes away only itself`
        : `${dependants.length} ${dependants.length === 1 ? "object was" : "objects were"} made from it: ` +
          "they stay intact (Btrfs copies are independent) but would lose their recorded source, " +
          "and share much of its data, so deleting it frees little",
  };
}

function bytes(value: bigint | null): string | null {
  return value === null ? null : value.toString();
}

function iso(date: Date | null): string | null {
  return date === null || Number.isNaN(date.getTime()) ? null : date.toISOString();
}
