/** The lineage view: what was made from what on the RDS. See README.md here and docs/lineage.md. */
export { buildLineage, type KubernetesNames, type LineageInput } from "./build.js";
export { escapeHtml, LINEAGE_PAGE_CSP, renderLineageHtml } from "./html.js";
export * from "./model.js";
export { cachedLineage, readLineage } from "./read.js";
export { renderLineageText } from "./text.js";
