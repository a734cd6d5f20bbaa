import type { Kubectl, KubeObject } from "./kubectl.js";

/**
 * The fields of PersistentVolumeClaims, PersistentVolumes and snapshot objects the suite reads, and
 * waits for the states a user waits for. Only what the assertions need is typed.
 */

export interface Pvc extends KubeObject {
  spec: { volumeName?: string; resources: { requests: { storage: string } } };
  status?: { phase?: string; capacity?: { storage?: string }; conditions?: Array<{ type: string }> };
}

export interface Pv extends KubeObject {
  spec: {
    capacity: { storage: string };
    persistentVolumeReclaimPolicy: string;
    csi?: { driver: string; volumeHandle: string };
  };
}

export interface VolumeSnapshot extends KubeObject {
  spec: { volumeSnapshotClassName?: string; source: Record<string, string> };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    creationTime?: string;
    boundVolumeSnapshotContentName?: string;
    error?: { message?: string };
  };
}

export interface VolumeSnapshotContent extends KubeObject {
  spec: {
    deletionPolicy: string;
    driver: string;
    source: { snapshotHandle?: string; volumeHandle?: string };
  };
  status?: { snapshotHandle?: string; readyToUse?: boolean; restoreSize?: number };
}

const SUFFIX: Record<string, bigint> = { "": 1n, Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n };

/** Bytes of a binary-suffixed quantity such as "1Gi" or "1073741824" (the forms used here). */
export function bytes(quantity: string): bigint {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)?$/.exec(quantity);
  if (!m) throw new Error(`not a quantity this suite reads: ${quantity}`);
  return BigInt(m[1]!) * SUFFIX[m[2] ?? ""]!;
}

/** Waits until the claim is Bound and returns it with its PersistentVolume. */
export async function waitBound(
  kubectl: Kubectl,
  namespace: string,
  name: string,
): Promise<{ pvc: Pvc; pv: Pv }> {
  const pvc = await kubectl.waitFor(`pvc/${name} Bound`, async () => {
    const p = await kubectl.get<Pvc>("pvc", name, namespace);
    return p?.status?.phase === "Bound" ? p : undefined;
  });
  const pv = await kubectl.get<Pv>("pv", pvc.spec.volumeName!);
  if (!pv) throw new Error(`pvc/${name} is bound to a missing PersistentVolume ${pvc.spec.volumeName}`);
  return { pvc, pv };
}

/** Waits until the snapshot is readyToUse and returns it with its content. */
export async function waitReady(
  kubectl: Kubectl,
  namespace: string,
  name: string,
): Promise<{ vs: VolumeSnapshot; vsc: VolumeSnapshotContent }> {
  // An error in the status may be passing (a claim not bound yet): it only explains a timeout.
  let lastError = "";
  const vs = await kubectl
    .waitFor(`volumesnapshot/${name} readyToUse`, async () => {
      const s = await kubectl.get<VolumeSnapshot>("volumesnapshot", name, namespace);
      lastError = s?.status?.error?.message ?? lastError;
      return s?.status?.readyToUse === true ? s : undefined;
    })
    .catch((err: Error) => {
      throw new Error(`${err.message}${lastError ? ` (last error: ${lastError})` : ""}`);
    });
  const vsc = await kubectl.get<VolumeSnapshotContent>(
    "volumesnapshotcontent",
    vs.status!.boundVolumeSnapshotContentName!,
  );
  if (!vsc) throw new Error(`volumesnapshot/${name} is bound to a missing content`);
  return { vs, vsc };
}

/** Waits until nothing answers to resource/name any more. */
export async function waitGone(
  kubectl: Kubectl,
  resource: string,
  name: string,
  namespace?: string,
): Promise<void> {
  await kubectl.waitFor(`${resource}/${name} gone`, async () =>
    (await kubectl.get(resource, name, namespace)) === undefined ? true : undefined,
  );
}
