import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { BenchStack } from "../lib/bench-stack.js";
import { createSnapshot, createVolume, deleteSnapshot, deleteVolume } from "../lib/csi-ops.js";
import { type CallSample, measureCall } from "../lib/measure.js";

/**
 * CreateVolume (a new empty volume), CreateSnapshot, restore (CreateVolume from the snapshot),
 * clone (CreateVolume from the volume), and the deletes, for sparse volumes of several sizes
 * holding some written data. Sizes are interleaved within each round so that load drifting on a
 * shared machine touches all alike.
 */

export const OPERATIONS = [
  "CreateVolume",
  "CreateSnapshot",
  "restore",
  "clone",
  "DeleteVolume (restored)",
  "DeleteVolume (clone)",
  "DeleteSnapshot",
] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface VolumeSize {
  label: string;
  bytes: bigint;
}

export type SizeSamples = Record<string, Record<Operation, CallSample[]>>;

const GiB = 1024n * 1024n * 1024n;
export const VOLUME_SIZES: readonly VolumeSize[] = [
  { label: "1 GiB", bytes: GiB },
  { label: "64 GiB", bytes: 64n * GiB },
  { label: "1 TiB", bytes: 1024n * GiB },
];

/** Data written into each volume before it is snapshotted: at its start, middle and end. */
const CHUNK_BYTES = 16 * 1024 * 1024;

async function writeSomeData(imagePath: string, size: bigint): Promise<void> {
  const handle = await open(imagePath, "r+");
  try {
    const offsets = [0n, size / 2n, size - BigInt(CHUNK_BYTES)];
    for (const offset of offsets)
      await handle.write(randomBytes(CHUNK_BYTES), 0, CHUNK_BYTES, Number(offset));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const slug = (label: string) => label.replace(/\s+/g, "").toLowerCase();

export async function measureSnapshotOps(
  stack: BenchStack,
  rounds: number,
  onProgress: (text: string) => void,
): Promise<SizeSamples> {
  const { csi } = stack;
  const sources = new Map<string, string>();
  for (const size of VOLUME_SIZES) {
    const volumeId = await createVolume(csi, `bench-source-${slug(size.label)}`, size.bytes);
    await writeSomeData(join(stack.poolMountPath, "rds-csi", "vols", volumeId, "disk.img"), size.bytes);
    sources.set(size.label, volumeId);
  }
  const samples: SizeSamples = {};
  for (const size of VOLUME_SIZES) {
    samples[size.label] = Object.fromEntries(OPERATIONS.map((op) => [op, []])) as unknown as Record<
      Operation,
      CallSample[]
    >;
  }
  for (let round = 0; round < rounds; round++) {
    for (const size of VOLUME_SIZES) {
      const into = samples[size.label]!;
      const source = sources.get(size.label)!;
      const tag = `${slug(size.label)}-${round}`;
      let snapshotId = "";
      let restoredId = "";
      let cloneId = "";
      let newId = "";
      into.CreateVolume.push(
        await measureCall(stack, async () => {
          newId = await createVolume(csi, `bench-new-${tag}`, size.bytes);
        }),
      );
      into.CreateSnapshot.push(
        await measureCall(stack, async () => {
          snapshotId = await createSnapshot(csi, `bench-snap-${tag}`, source);
        }),
      );
      into.restore.push(
        await measureCall(stack, async () => {
          restoredId = await createVolume(csi, `bench-restore-${tag}`, size.bytes, { snapshotId });
        }),
      );
      into.clone.push(
        await measureCall(stack, async () => {
          cloneId = await createVolume(csi, `bench-clone-${tag}`, size.bytes, { volumeId: source });
        }),
      );
      into["DeleteVolume (restored)"].push(await measureCall(stack, () => deleteVolume(csi, restoredId)));
      into["DeleteVolume (clone)"].push(await measureCall(stack, () => deleteVolume(csi, cloneId)));
      into.DeleteSnapshot.push(await measureCall(stack, () => deleteSnapshot(csi, snapshotId)));
      await deleteVolume(csi, newId);
    }
    onProgress(`round ${round + 1}/${rounds}`);
  }
  for (const volumeId of sources.values()) await deleteVolume(csi, volumeId);
  return samples;
}
