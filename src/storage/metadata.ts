import { isSnapshotId, isVolumeId } from "./ids.js";

/**
 * What a volume must remember across controller restarts that RouterOS does not show by itself:
 * the content it was made from (CreateVolume must echo it, and a retry with another source is a
 * conflict). It travels in the `/disk` item's comment, e.g. `rds-csi v1 source=snapshot:snap-…`.
 * Only ids go there — never CSI names, parameters or secrets — and the format is parsed strictly.
 */

export type ContentSource = { kind: "snapshot"; snapshotId: string } | { kind: "volume"; volumeId: string };

export interface VolumeMetadata {
  source: ContentSource | undefined;
}

const MARKER = "rds-csi v1";

export function encodeVolumeComment(meta: VolumeMetadata): string {
  const { source } = meta;
  if (source === undefined) return MARKER;
  return source.kind === "snapshot"
    ? `${MARKER} source=snapshot:${source.snapshotId}`
    : `${MARKER} source=volume:${source.volumeId}`;
}

/** The metadata in a comment, or undefined when the comment is not one this driver wrote. */
export function decodeVolumeComment(comment: string | undefined): VolumeMetadata | undefined {
  if (comment === undefined) return undefined;
  const words = comment.trim().split(/\s+/);
  if (`${words[0]} ${words[1]}` !== MARKER) return undefined;
  if (words.length === 2) return { source: undefined };
  if (words.length !== 3) return undefined;
  const m = /^source=(snapshot|volume):(.+)$/.exec(words[2]!);
  if (!m) return undefined;
  const [, kind, id] = m as unknown as [string, string, string];
  if (kind === "snapshot" && isSnapshotId(id)) return { source: { kind, snapshotId: id } };
  if (kind === "volume" && isVolumeId(id)) return { source: { kind, volumeId: id } };
  return undefined;
}

export function sameSource(a: ContentSource | undefined, b: ContentSource | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === "snapshot" && b.kind === "snapshot") return a.snapshotId === b.snapshotId;
  if (a.kind === "volume" && b.kind === "volume") return a.volumeId === b.volumeId;
  return false;
}

export function describeSource(source: ContentSource | undefined): string {
  if (source === undefined) return "no content source";
  return source.kind === "snapshot" ? `snapshot ${source.snapshotId}` : `volume ${source.volumeId}`;
}
