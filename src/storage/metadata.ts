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
  /**
   * The create attempt that made the `/disk` item and has not been confirmed since. Undoing a
   * failed attempt removes only the item that still carries its token; a later CreateVolume that
   * hands the volume out first removes the token, so an undo that RouterOS runs late (after the
   * driver gave up on it) can no longer take a volume that is in use.
   */
  attempt?: string;
}

const MARKER = "rds-csi v1";
const ATTEMPT = /^[0-9a-f]{8,32}$/;

export function encodeVolumeComment(meta: VolumeMetadata): string {
  const words = [MARKER];
  const { source } = meta;
  if (source !== undefined) {
    words.push(
      source.kind === "snapshot"
        ? `source=snapshot:${source.snapshotId}`
        : `source=volume:${source.volumeId}`,
    );
  }
  if (meta.attempt !== undefined) {
    if (!ATTEMPT.test(meta.attempt)) throw new Error(`bad attempt token ${JSON.stringify(meta.attempt)}`);
    words.push(`attempt=${meta.attempt}`);
  }
  return words.join(" ");
}

/** The metadata in a comment, or undefined when the comment is not one this driver wrote. */
export function decodeVolumeComment(comment: string | undefined): VolumeMetadata | undefined {
  if (comment === undefined) return undefined;
  const words = comment.trim().split(/\s+/);
  if (`${words[0]} ${words[1]}` !== MARKER) return undefined;
  const meta: VolumeMetadata = { source: undefined };
  const seen = new Set<string>();
  for (const word of words.slice(2)) {
    const eq = word.indexOf("=");
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (eq <= 0 || seen.has(key)) return undefined;
    seen.add(key);
    if (key === "source") {
      const source = parseSource(value);
      if (source === undefined) return undefined;
      meta.source = source;
    } else if (key === "attempt" && ATTEMPT.test(value)) {
      meta.attempt = value;
    } else {
      return undefined;
    }
  }
  return meta;
}

function parseSource(text: string): ContentSource | undefined {
  const m = /^(snapshot|volume):(.+)$/.exec(text);
  if (!m) return undefined;
  const [, kind, id] = m as unknown as [string, string, string];
  if (kind === "snapshot" && isSnapshotId(id)) return { kind, snapshotId: id };
  if (kind === "volume" && isVolumeId(id)) return { kind, volumeId: id };
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
