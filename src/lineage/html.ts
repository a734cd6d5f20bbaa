import { createHash } from "node:crypto";
import { humanBytes, kubernetesNames, relationLabel, type TreeEntry, treeOf, verdict } from "./describe.js";
import type { Lineage } from "./model.js";

/**
 * The lineage as one static HTML page: no script, no form, nothing loaded from elsewhere (the
 * server sends a Content-Security-Policy that forbids all of it and allows only this page's own
 * style sheet, by its hash: `LINEAGE_PAGE_CSP`). Every value from the RDS or the
 * cluster goes through `escapeHtml`. Each object is an `<li>` whose data attributes carry its id,
 * kind, parent and relation, for scripts and tests that read the page.
 */
export function renderLineageHtml(lineage: Lineage): string {
  const tree = treeOf(lineage);
  const present = lineage.nodes.filter((n) => n.present);
  const safe = present.filter((n) => n.deletion?.safe).length;
  const title = `rds-csi lineage: /${lineage.pool}/${lineage.root}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="summary">Read at <time>${escapeHtml(lineage.generatedAt)}</time>:
${present.filter((n) => n.kind === "volume").length} volumes, ${present.filter((n) => n.kind === "snapshot").length} snapshots, ${safe} safe to delete.
${kubernetesNote(lineage)}
<a href="lineage.json">JSON</a></p>
<p class="note">Snapshots, restores and clones are independent Btrfs subvolumes that share extents:
deleting one never breaks another. <em>Safe to delete</em> means nothing was made from it;
deleting frees at most its size, and less where it shares extents with its source or dependants.
This page only reads the RDS.</p>
${tree.length === 0 ? '<p class="empty">No volumes or snapshots.</p>' : `<ul class="tree">\n${tree.map((e) => entryHtml(e, undefined)).join("")}</ul>`}
</body>
</html>
`;
}

function kubernetesNote(lineage: Lineage): string {
  if (lineage.kubernetes.consulted) return "Kubernetes names from the API server.";
  const error = lineage.kubernetes.error;
  return (
    "Kubernetes names from the volumes' <code>/disk</code> comments only" +
    (error ? ` (the cluster could not be read: ${escapeHtml(error)}).` : ".")
  );
}

function entryHtml(entry: TreeEntry, parent: string | undefined): string {
  const { node, edge } = entry;
  const attrs = [
    `data-id="${escapeHtml(node.id)}"`,
    `data-kind="${node.kind}"`,
    `data-present="${node.present}"`,
    ...(parent === undefined ? [] : [`data-parent="${escapeHtml(parent)}"`, `data-edge="${edge}"`]),
    ...(node.deletion ? [`data-safe="${node.deletion.safe}"`] : []),
  ];
  const names = kubernetesNames(node);
  const cells = [
    `<span class="relation">${escapeHtml(relationLabel(node, edge))}</span>`,
    `<code class="id">${escapeHtml(node.id)}</code>`,
    ...(node.present
      ? [
          `<span class="size" title="${escapeHtml(node.sizeBytes ?? "unknown")} bytes">${escapeHtml(humanBytes(node.sizeBytes))}</span>`,
          `<time class="created">${escapeHtml(node.createdAt ?? "created ?")}</time>`,
        ]
      : []),
    ...(names ? [`<span class="names">${escapeHtml(names)}</span>`] : []),
    `<span class="verdict ${node.present ? (node.deletion?.safe ? "safe" : "kept") : "gone"}"` +
      ` title="${escapeHtml(node.deletion?.reason ?? "no longer on the RDS; named by what was made from it")}">${escapeHtml(verdict(node))}</span>`,
  ];
  const children =
    entry.children.length === 0
      ? ""
      : `<ul>\n${entry.children.map((c) => entryHtml(c, node.id)).join("")}</ul>`;
  return `<li ${attrs.join(" ")}><div class="node">${cells.join(" ")}</div>${children}</li>\n`;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text and attribute values for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
.note { color: #555; max-width: 60em; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.4em; border-left: 1px solid #ccc; }
ul.tree { border-left: none; padding-left: 0; }
.node { padding: 2px 0; }
.relation { font-weight: 600; }
.id { background: #f3f3f3; padding: 0 3px; }
.size, .created, .names { margin-left: 0.6em; color: #444; }
.verdict { margin-left: 0.6em; padding: 0 6px; border-radius: 8px; font-size: 0.9em; }
.verdict.safe { background: #d8f5d8; }
.verdict.kept { background: #fde9c8; }
.verdict.gone { background: #e6e6e6; color: #777; }
`;

/** The page's Content-Security-Policy: nothing but its own inline style sheet, named by its hash. */
export const LINEAGE_PAGE_CSP =
  "default-src 'none'; " +
  `style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
