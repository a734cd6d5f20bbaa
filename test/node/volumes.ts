import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loopContext, mountCapability, type NodeHarness, sparseFile } from "./host.js";

/** One test volume: its disk image in the pool and the paths kubelet would use for it. */
export interface Vol {
  id: string;
  file: string;
  staging: string;
  target: string;
}

/**
 * Creates a sparse disk image where the emulator keeps a volume's (`vols/<volume id>/disk.img`)
 * and, as kubelet does, the staging directory and the target's parent.
 */
export async function newVolume(h: NodeHarness, name: string, bytes: bigint): Promise<Vol> {
  const dir = join(h.pool, "vols", `pvc-${name}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, "disk.img");
  await sparseFile(file, bytes);
  const staging = join(h.dir, "staging", name);
  await mkdir(staging, { recursive: true });
  await mkdir(join(h.dir, "pods", name), { recursive: true });
  return { id: `pvc-${name}`, file, staging, target: join(h.dir, "pods", name, "mount") };
}

export function stageReq(v: Vol, capability: object = mountCapability()) {
  return {
    volume_id: v.id,
    staging_target_path: v.staging,
    volume_capability: capability,
    volume_context: loopContext(v.file),
  };
}

export function publishReq(v: Vol, readonly = false, capability: object = mountCapability()) {
  return {
    volume_id: v.id,
    staging_target_path: v.staging,
    target_path: v.target,
    volume_capability: capability,
    volume_context: loopContext(v.file),
    readonly,
  };
}

export const unstageReq = (v: Vol) => ({ volume_id: v.id, staging_target_path: v.staging });
export const unpublishReq = (v: Vol) => ({ volume_id: v.id, target_path: v.target });

export function expandReq(v: Vol, requiredBytes: bigint, path = v.target) {
  return { volume_id: v.id, volume_path: path, capacity_range: { required_bytes: String(requiredBytes) } };
}
