import { createHash } from "node:crypto";
import { MAX_COMMENT_LENGTH } from "../rds/quote.js";
import { isSnapshotId, isVolumeId } from "./ids.js";

/**
 * What a volume must remember across controller restarts that RouterOS does not show by itself:
 * the content it was made from (CreateVolume must echo it, and a retry with another source is a
 * conflict). It travels in the `/disk` item's comment, e.g. `rds-csi v1 source=snapshot:snap-…`.
 * Besides ids, only the Kubernetes names of the volume's PersistentVolume and claim go there
 * (`pv=pvc-… pvc=<namespace>/<name>`, from the provisioner's --extra-create-metadata), so an
 * operator can tell which PV a disk belongs to; they are DNS names by Kubernetes' own rules and are
 * checked again here. Never parameters or secrets, and the format is parsed strictly.
 */

/** Who a volume was made for, as the external-provisioner passes it; each part optional. */
export interface KubernetesNames {
  pv?: string;
  pvc?: { namespace: string; name: string };
}

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
  names?: KubernetesNames;
  /**
   * The hosts the volume is published to read-only (ControllerPublishVolume `readonly`), by
   * `hostTag`: a controller keeps no state, so a second publish to the same node that asks for
   * the other mode can only be told apart here. Written with the allow list, in one `/disk set`.
   */
  readOnlyHosts?: readonly string[];
}

const MARKER = "rds-csi v1";
const ATTEMPT = /^[0-9a-f]{8,32}$/;
const HOST_TAG = /^[0-9a-f]{12}$/;

/**
 * A short stand-in for a host NQN in the comment (a host NQN may be 223 characters; the comment
 * holds 255): the first 48 bits of its SHA-256, enough to tell a cluster's nodes apart.
 */
export function hostTag(hostNqn: string): string {
  return createHash("sha256").update(hostNqn).digest("hex").slice(0, 12);
}
/** A DNS-1123 subdomain (object names) and label (namespaces), as Kubernetes validates them. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The names when each is what Kubernetes allows; anything else is left out (they are informational). */
export function checkedNames(names: {
  pv?: string | undefined;
  pvcNamespace?: string | undefined;
  pvcName?: string | undefined;
}): KubernetesNames | undefined {
  const out: KubernetesNames = {};
  if (names.pv !== undefined && DNS_SUBDOMAIN.test(names.pv)) out.pv = names.pv;
  const { pvcNamespace: namespace, pvcName: name } = names;
  if (
    namespace !== undefined &&
    name !== undefined &&
    DNS_LABEL.test(namespace) &&
    DNS_SUBDOMAIN.test(name)
  ) {
    out.pvc = { namespace, name };
  }
  return out.pv === undefined && out.pvc === undefined ? undefined : out;
}

/** "PV pvc-… (PVC ns/name)", for findings and messages; empty when nothing is known. */
export function describeNames(names: KubernetesNames | undefined): string {
  if (names === undefined) return "";
  const pvc = names.pvc ? `PVC ${names.pvc.namespace}/${names.pvc.name}` : "";
  if (names.pv === undefined) return pvc;
  return pvc ? `PV ${names.pv} (${pvc})` : `PV ${names.pv}`;
}

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
  if (meta.readOnlyHosts !== undefined && meta.readOnlyHosts.length > 0) {
    if (!meta.readOnlyHosts.every((t) => HOST_TAG.test(t)))
      throw new Error(`bad host tags ${JSON.stringify(meta.readOnlyHosts)}`);
    words.push(`ro=${[...new Set(meta.readOnlyHosts)].sort().join(",")}`);
  }
  const names =
    meta.names &&
    checkedNames({
      pv: meta.names.pv,
      pvcNamespace: meta.names.pvc?.namespace,
      pvcName: meta.names.pvc?.name,
    });
  if (names?.pv !== undefined) words.push(`pv=${names.pv}`);
  // RouterOS keeps comments up to 255 characters: a long claim name is left out rather than cut.
  const pvc = names?.pvc && `pvc=${names.pvc.namespace}/${names.pvc.name}`;
  if (pvc && [...words, pvc].join(" ").length <= MAX_COMMENT_LENGTH) words.push(pvc);
  const comment = words.join(" ");
  if (comment.length > MAX_COMMENT_LENGTH) {
    throw new Error(
      `volume comment would be ${comment.length} characters; RouterOS keeps ${MAX_COMMENT_LENGTH}`,
    );
  }
  return comment;
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
    } else if (key === "ro" && value.split(",").every((t) => HOST_TAG.test(t))) {
      meta.readOnlyHosts = value.split(",");
    } else if (key === "pv" && DNS_SUBDOMAIN.test(value)) {
      meta.names = { ...meta.names, pv: value };
    } else if (key === "pvc" && parsePvc(value) !== undefined) {
      meta.names = { ...meta.names, pvc: parsePvc(value)! };
    } else {
      return undefined;
    }
  }
  return meta;
}

function parsePvc(text: string): { namespace: string; name: string } | undefined {
  const slash = text.indexOf("/");
  const namespace = text.slice(0, slash);
  const name = text.slice(slash + 1);
  return slash > 0 && DNS_LABEL.test(namespace) && DNS_SUBDOMAIN.test(name) ? { namespace, name } : undefined;
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
