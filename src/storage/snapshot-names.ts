import { DNS_LABEL, DNS_SUBDOMAIN } from "./metadata.js";

/**
 * The VolumeSnapshot (and VolumeSnapshotContent) a snapshot was taken for, as the
 * csi-snapshotter's --extra-create-metadata passes them. A snapshot subvolume has no comment on
 * RouterOS, so they are kept as the name of an empty file beside the layout:
 *
 *   <root>/names/<snapshot id>_<namespace>_<name>[_<content name>].<unix ms>
 *
 * `_` is in no Kubernetes name, so the parts split back unambiguously; the time makes every write
 * a new file, so a retried CreateSnapshot never fails on an existing one. Informational only: the
 * driver never decides anything by them.
 */

export interface SnapshotNames {
  namespace: string;
  name: string;
  /** The VolumeSnapshotContent; left out when the file name would pass 255 characters. */
  content?: string;
}

/** Btrfs and RouterOS limit one path component to 255 bytes. */
const MAX_COMPONENT = 255;
const FILE = /^(snap-[0-9a-f-]{36})_([^_]+)_([^_]+)(?:_([^_]+))?\.(\d{1,16})$/;

/** The names when each is what Kubernetes allows; anything else leaves them out. */
export function checkedSnapshotNames(names: {
  namespace?: string | undefined;
  name?: string | undefined;
  content?: string | undefined;
}): SnapshotNames | undefined {
  const { namespace, name, content } = names;
  if (namespace === undefined || name === undefined) return undefined;
  if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) return undefined;
  return content !== undefined && DNS_SUBDOMAIN.test(content)
    ? { namespace, name, content }
    : { namespace, name };
}

/** The file name recording `names` for a snapshot, or undefined when even without the content it is too long. */
export function namesFileName(snapshotId: string, names: SnapshotNames, atMs: number): string | undefined {
  const base = `${snapshotId}_${names.namespace}_${names.name}`;
  const full = names.content === undefined ? base : `${base}_${names.content}`;
  for (const candidate of [`${full}.${atMs}`, `${base}.${atMs}`]) {
    if (candidate.length <= MAX_COMPONENT) return candidate;
  }
  return undefined;
}

/** The snapshot id and names a file name records, or undefined when it is not such a file. */
export function parseNamesFileName(
  fileName: string,
): { snapshotId: string; names: SnapshotNames } | undefined {
  const m = FILE.exec(fileName);
  if (m === null) return undefined;
  const names = checkedSnapshotNames({ namespace: m[2], name: m[3], content: m[4] });
  return names === undefined ? undefined : { snapshotId: m[1] as string, names };
}

/** "VolumeSnapshot ns/name (content snapcontent-…)", for findings and logs. */
export function describeSnapshotNames(names: SnapshotNames | undefined): string {
  if (names === undefined) return "";
  const content = names.content === undefined ? "" : ` (content ${names.content})`;
  return `VolumeSnapshot ${names.namespace}/${names.name}${content}`;
}
