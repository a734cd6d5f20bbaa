import { v5 as uuidv5 } from "uuid";

/**
 * Volume and snapshot ids are derived from CSI names, never stored: a retried create computes the
 * same id and finds its earlier result, and the controller keeps no state of its own. CSI names
 * may be any Unicode up to 128 bytes, so they never reach the RDS; only these ids do.
 *
 * The namespaces are fixed forever: changing one would orphan every existing volume or snapshot.
 */
export const VOLUME_ID_NAMESPACE = "c4d00a5e-5ec3-41c7-9a13-1071e7c50924";
export const SNAPSHOT_ID_NAMESPACE = "43a8cf2c-b2c6-4057-b1ac-a304c24f6671";

export const VOLUME_ID_PREFIX = "pvc-";
export const SNAPSHOT_ID_PREFIX = "snap-";

/** The CSI spec's size limit for names and ids (spec.md "Size Limits"). */
export const MAX_CSI_STRING_BYTES = 128;

// A name-based (version 5) UUID in lower case, as uuid's v5() prints it.
const UUID_V5 = "[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
const VOLUME_ID = new RegExp(`^${VOLUME_ID_PREFIX}${UUID_V5}$`);
const SNAPSHOT_ID = new RegExp(`^${SNAPSHOT_ID_PREFIX}${UUID_V5}$`);

// Spec: names may hold any Unicode except these control characters.
const FORBIDDEN_IN_NAME = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export function volumeIdFor(name: string): string {
  return VOLUME_ID_PREFIX + uuidv5(name, VOLUME_ID_NAMESPACE);
}

export function snapshotIdFor(name: string): string {
  return SNAPSHOT_ID_PREFIX + uuidv5(name, SNAPSHOT_ID_NAMESPACE);
}

/** True only for ids this driver hands out; anything else names no object of ours. */
export function isVolumeId(id: string): boolean {
  return VOLUME_ID.test(id);
}

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

/** Why a CSI name is unacceptable, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "is required";
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_CSI_STRING_BYTES)
    return `is ${bytes} bytes long; at most ${MAX_CSI_STRING_BYTES} are allowed`;
  if (FORBIDDEN_IN_NAME.test(name)) return "contains a control character";
  return undefined;
}

/**
 * Pools. A volume or snapshot in the controller's default pool (`--rds-pool`) keeps the plain id
 * above, so every id handed out before pools could be chosen still names the same object. One in
 * another pool is `<pool>:<id>`: the pool travels in the id, so a stateless controller knows where
 * to look. The part after the pool is what RouterOS sees (slot, subvolume and NQN), unchanged.
 */
export const POOL_ID_SEPARATOR = ":";
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A pool name as RouterOS shows the pool disk's mount-point, and as it may appear in an id. */
export function isPoolName(name: string): boolean {
  return POOL_NAME.test(name);
}

/** The id handed out for `id` in `pool`; undefined for the default pool (the plain id). */
export function pooledId(pool: string | undefined, id: string): string {
  return pool === undefined ? id : `${pool}${POOL_ID_SEPARATOR}${id}`;
}

/**
 * The pool an id names (undefined: none, the default pool) and the RouterOS id after it. A pool
 * part that is not a pool name is left in the id, which then names nothing of ours.
 */
export function splitPooledId(id: string): { pool: string | undefined; id: string } {
  const at = id.indexOf(POOL_ID_SEPARATOR);
  if (at < 0) return { pool: undefined, id };
  const pool = id.slice(0, at);
  return isPoolName(pool) ? { pool, id: id.slice(at + 1) } : { pool: undefined, id };
}
