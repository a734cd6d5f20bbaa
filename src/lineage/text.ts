import { humanBytes, kubernetesNames, relationLabel, type TreeEntry, treeOf, verdict } from "./describe.js";
import type { Lineage } from "./model.js";

/**
 * The lineage as a tree for a terminal, one object per line:
 *
 *   volume pvc-…  8 MiB  2026-12-05T13:00:00.000Z  PV pvc-1 (PVC shop/data)  [1 dependant]
 *   └─ snapshot snap-…  8 MiB  …  [1 dependant]
 *      └─ restored volume pvc-…  16 MiB  …  [safe to delete]
 */
export function renderLineageText(lineage: Lineage): string {
  const lines: string[] = [
    `Lineage of /${lineage.pool}/${lineage.root} at ${lineage.generatedAt}` +
      (lineage.kubernetes.consulted ? " (with Kubernetes names)" : ""),
  ];
  if (lineage.kubernetes.error) lines.push(`Kubernetes names not read: ${lineage.kubernetes.error}`);
  const tree = treeOf(lineage);
  if (tree.length === 0) lines.push("(no volumes or snapshots)");
  const visit = (entry: TreeEntry, lead: string, branch: string) => {
    lines.push(`${lead}${branch}${describeLine(entry)}`);
    const next = lead + (branch === "" ? "" : branch === "└─ " ? "   " : "│  ");
    entry.children.forEach((child, i) => {
      visit(child, next, i === entry.children.length - 1 ? "└─ " : "├─ ");
    });
  };
  for (const root of tree) visit(root, "", "");
  const present = lineage.nodes.filter((n) => n.present);
  const safe = present.filter((n) => n.deletion?.safe).length;
  lines.push(
    "",
    `${present.filter((n) => n.kind === "volume").length} volumes, ` +
      `${present.filter((n) => n.kind === "snapshot").length} snapshots; ${safe} safe to delete. ` +
      "Deleting any of them never breaks another: Btrfs copies are independent (docs/lineage.md).",
  );
  return `${lines.join("\n")}\n`;
}

function describeLine({ node, edge }: TreeEntry): string {
  const parts = [`${relationLabel(node, edge)} ${node.id}`];
  if (node.present) parts.push(humanBytes(node.sizeBytes), node.createdAt ?? "created ?");
  const names = kubernetesNames(node);
  if (names) parts.push(names);
  if (node.kind === "snapshot" && node.present && !node.readyToUse) parts.push("not read-only");
  parts.push(`[${verdict(node)}]`);
  return parts.join("  ");
}
