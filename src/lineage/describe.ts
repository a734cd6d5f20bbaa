import type { EdgeKind, Lineage, LineageNode } from "./model.js";

/** What the text and the page both say about a node, so the two never disagree. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes for people: whole units where exact, else one decimal ("1.5 GiB"); "?" when unknown. */
export function humanBytes(decimal: string | null): string {
  if (decimal === null) return "?";
  let value = BigInt(decimal);
  let unit = 0;
  while (unit < UNITS.length - 1 && value >= 1024n && value % 1024n === 0n) {
    value /= 1024n;
    unit++;
  }
  if (value < 1024n || unit === UNITS.length - 1) return `${value} ${UNITS[unit]}`;
  let scaled = Number(value);
  while (unit < UNITS.length - 1 && scaled >= 1024) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${UNITS[unit]}`;
}

/** The Kubernetes names of a node, "" when none are known. */
export function kubernetesNames(node: LineageNode): string {
  if (node.kind === "volume") {
    const v = node.kubernetes;
    if (v === null) return "";
    const pvc = v.pvc ? `PVC ${v.pvc.namespace}/${v.pvc.name}` : "";
    if (v.pv === undefined) return pvc;
    return pvc ? `PV ${v.pv} (${pvc})` : `PV ${v.pv}`;
  }
  const s = node.kubernetes;
  if (s === null) return "";
  const snap = s.volumeSnapshot
    ? `VolumeSnapshot ${s.volumeSnapshot.namespace}/${s.volumeSnapshot.name}`
    : "";
  if (s.volumeSnapshotContent === undefined) return snap;
  return snap
    ? `${snap} (content ${s.volumeSnapshotContent})`
    : `VolumeSnapshotContent ${s.volumeSnapshotContent}`;
}

/** How a node is introduced under its parent. */
export function relationLabel(node: LineageNode, edge: EdgeKind | undefined): string {
  if (edge === "restore") return "restored volume";
  if (edge === "clone") return "cloned volume";
  return node.kind;
}

/** The deletion verdict in a few words. */
export function verdict(node: LineageNode): string {
  if (!node.present || node.deletion === null) return "gone";
  const n = node.deletion.dependants.length;
  return node.deletion.safe ? "safe to delete" : `${n} ${n === 1 ? "dependant" : "dependants"}`;
}

export interface TreeEntry {
  node: LineageNode;
  edge: EdgeKind | undefined;
  children: TreeEntry[];
}

/** The lineage as nested entries, from its roots and edges. */
export function treeOf(lineage: Lineage): TreeEntry[] {
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const below = new Map<string, { to: string; kind: EdgeKind }[]>();
  for (const edge of lineage.edges) {
    const list = below.get(edge.from);
    if (list) list.push(edge);
    else below.set(edge.from, [edge]);
  }
  const entry = (id: string, edge: EdgeKind | undefined): TreeEntry => ({
    node: byId.get(id)!,
    edge,
    children: (below.get(id) ?? []).map((e) => entry(e.to, e.kind)),
  });
  return lineage.roots.map((id) => entry(id, undefined));
}
