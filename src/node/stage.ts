import { mkdir, open } from "node:fs/promises";
import type { VolumeMode } from "./capability.js";
import { DEFAULT_FS_TYPE } from "./capability.js";
import type { NodeEnv, OpCall } from "./env.js";
import { badArgument, broken, conflict, notReady } from "./errors.js";
import { ext4SizeBytes, growExt4Offline, growMounted, makeFilesystem, probeDevice } from "./filesystem.js";
import { canonicalPath } from "./mounter.js";
import {
  readRecord,
  removeStagingFiles,
  type StagingLayout,
  type StagingRecord,
  stagingLayout,
  writeRecord,
} from "./staging.js";
import { deviceNumber, deviceSizeBytes, kernelName } from "./sysfs.js";
import { describeTarget, sameTarget, type Transport, type VolumeTarget } from "./transport.js";
import { type FsType, isFsType } from "./validate.js";

export interface StageRequest {
  volumeId: string;
  stagingPath: string;
  target: VolumeTarget;
  mode: VolumeMode;
}

/**
 * ext4 drops a last block group too small to be useful, so a filesystem can stay a little
 * smaller than its device for ever; below this gap it is not worth an fsck and a resize.
 */
const GROW_THRESHOLD_BYTES = 4n * 1024n * 1024n;

export function transportFor(env: NodeEnv, target: VolumeTarget): Transport {
  const transport = env.transports[target.transport];
  if (!transport) throw badArgument(`transport ${target.transport} is not enabled on this node`);
  return transport;
}

function checkCompatible(record: StagingRecord, req: StageRequest): void {
  const { mode } = req;
  const problems: string[] = [];
  if (!sameTarget(record.target, req.target))
    problems.push(`it was staged from ${describeTarget(record.target)}`);
  if (record.accessType !== mode.accessType) problems.push(`it was staged as ${record.accessType}`);
  if (record.readOnly !== mode.readOnly)
    problems.push(`it was staged ${record.readOnly ? "read-only" : "read-write"}`);
  if (mode.accessType === "mount" && mode.fsType && record.fsType && mode.fsType !== record.fsType) {
    problems.push(`it holds ${record.fsType}, not ${mode.fsType}`);
  }
  if (problems.length > 0) {
    throw conflict(
      `volume ${req.volumeId} is already staged at ${req.stagingPath} differently: ${problems.join("; ")}`,
    );
  }
}

/**
 * Attaches the volume and, for filesystem volumes, mounts it (creating the filesystem only on an
 * empty device). Repeating a finished stage is a no-op; repeating a half-finished one completes it.
 */
export async function stageVolume(env: NodeEnv, req: StageRequest, call: OpCall): Promise<void> {
  const transport = transportFor(env, req.target);
  await transport.check(req.target);
  await mkdir(req.stagingPath, { recursive: true });
  const layout = stagingLayout(await canonicalPath(req.stagingPath));
  const existing = await readRecord(layout);
  if (existing && existing.volumeId !== req.volumeId) {
    throw notReady(`staging path ${req.stagingPath} is in use by volume ${existing.volumeId}`);
  }
  if (existing) checkCompatible(existing, req);
  const record: StagingRecord = existing ?? {
    version: 1,
    volumeId: req.volumeId,
    target: req.target,
    accessType: req.mode.accessType,
    readOnly: req.mode.readOnly,
  };
  if (!existing) await writeRecord(layout, record);
  try {
    const device = await transport.attach(req.target, { signal: call.signal, log: call.log });
    if (req.mode.accessType === "block") {
      await stageBlock(env, layout, device, req.mode.readOnly, call);
    } else {
      const fsType = await stageFilesystem(env, layout, device, req.mode, call);
      if (record.fsType !== fsType) await writeRecord(layout, { ...record, fsType });
    }
  } catch (err) {
    // Only undo what this call began: a failed repeat must not tear down a working stage.
    if (!existing) await rollBack(env, layout, transport, req.target, call);
    throw err;
  }
}

async function rollBack(
  env: NodeEnv,
  layout: StagingLayout,
  transport: Transport,
  target: VolumeTarget,
  call: OpCall,
): Promise<void> {
  // Not bound to the request's signal: a stage that failed because its deadline passed must
  // still be undone.
  const undo = { log: call.log };
  try {
    await env.mounter.unmountAll(layout.fsDir);
    await env.mounter.unmountAll(layout.blockFile);
    await transport.detach(target, undo);
    await removeStagingFiles(layout);
  } catch (err) {
    call.log.warn(
      { err: String(err), staging: layout.dir },
      "could not undo a failed stage; unstage will finish it",
    );
  }
}

async function stageBlock(
  env: NodeEnv,
  layout: StagingLayout,
  device: string,
  readOnly: boolean,
  call: OpCall,
): Promise<void> {
  // A read-only bind of a device node does not stop writes to the device; the kernel's read-only
  // flag on the block device does (unstage clears it again, see below).
  if (readOnly) await env.run("blockdev", ["--setro", device], { signal: call.signal });
  const current = await env.mounter.mountAt(layout.blockFile);
  if (current) {
    if (current.root !== `/${kernelName(device)}`) {
      throw broken(`${layout.blockFile} is bound to ${current.root}, not ${device}`);
    }
    return;
  }
  await (await open(layout.blockFile, "a", 0o600)).close();
  await env.mounter.bind(device, layout.blockFile, false, call);
}

async function stageFilesystem(
  env: NodeEnv,
  layout: StagingLayout,
  device: string,
  mode: Extract<VolumeMode, { accessType: "mount" }>,
  call: OpCall,
): Promise<FsType> {
  await mkdir(layout.fsDir, { recursive: true, mode: 0o750 });
  const number = await deviceNumber(env.sysfsRoot, kernelName(device));
  const current = await env.mounter.mountAt(layout.fsDir);
  if (current) {
    if (current.device !== number)
      throw broken(`${layout.fsDir} has ${current.source} mounted, not ${device}`);
    if (!isFsType(current.fsType))
      throw broken(`${layout.fsDir} holds an unexpected ${current.fsType} mount`);
    return current.fsType;
  }
  const fsType = await prepareFilesystem(env, device, mode, call);
  if (fsType === "ext4" && !mode.readOnly) await growExt4IfSmaller(env, device, call);
  const options = [...mode.mountFlags];
  if (mode.readOnly && !options.includes("ro")) options.push("ro");
  // A clone or restore carries its source's XFS UUID; without nouuid the two cannot be mounted
  // on the same node.
  if (fsType === "xfs" && !options.includes("nouuid")) options.push("nouuid");
  await env.mounter.mountFilesystem(device, layout.fsDir, fsType, options, call);
  if (fsType === "xfs" && !mode.readOnly) {
    // A restore into a larger volume: xfs only grows while mounted, and this is a no-op otherwise.
    await growMounted(env.run, "xfs", device, layout.fsDir, call);
  }
  call.log.info({ device, fsType, staging: layout.fsDir }, "volume staged");
  return fsType;
}

/** The filesystem to mount: the one already on the volume, or a new one on an empty device. */
async function prepareFilesystem(
  env: NodeEnv,
  device: string,
  mode: Extract<VolumeMode, { accessType: "mount" }>,
  call: OpCall,
): Promise<FsType> {
  const content = await probeDevice(env.run, device, call);
  if (content.kind === "other") {
    throw notReady(`${device} holds ${content.description}; it is neither formatted nor mounted`);
  }
  if (content.kind === "filesystem") {
    if (!isFsType(content.fsType)) {
      throw notReady(`${device} holds a ${content.fsType} filesystem; only ext4 and xfs are supported`);
    }
    if (mode.fsType && mode.fsType !== content.fsType) {
      throw notReady(
        `${device} already holds ${content.fsType} but ${mode.fsType} was requested; existing data is never reformatted`,
      );
    }
    return content.fsType;
  }
  if (mode.readOnly)
    throw notReady(`${device} has no filesystem and the volume is read-only, so it cannot be formatted`);
  const fsType = mode.fsType ?? DEFAULT_FS_TYPE;
  call.log.info({ device, fsType }, "empty volume: creating filesystem");
  await makeFilesystem(env.run, device, fsType, call);
  const after = await probeDevice(env.run, device, call);
  if (after.kind !== "filesystem" || after.fsType !== fsType)
    throw broken(`mkfs.${fsType} on ${device} left no ${fsType} filesystem`);
  return fsType;
}

async function growExt4IfSmaller(env: NodeEnv, device: string, call: OpCall): Promise<void> {
  const deviceBytes = await deviceSizeBytes(env.sysfsRoot, kernelName(device));
  const fsBytes = await ext4SizeBytes(env.run, device, call);
  if (deviceBytes - fsBytes < GROW_THRESHOLD_BYTES) return;
  call.log.info(
    { device, deviceBytes: String(deviceBytes), fsBytes: String(fsBytes) },
    "growing ext4 to its device",
  );
  await growExt4Offline(env.run, device, call);
}

/**
 * Unmounts and detaches what `stageVolume` set up. A staging path that holds nothing, or holds
 * another volume, is left alone and reported as done for this volume.
 */
export async function unstageVolume(
  env: NodeEnv,
  volumeId: string,
  stagingPath: string,
  call: OpCall,
): Promise<void> {
  const layout = stagingLayout(await canonicalPath(stagingPath));
  const record = await readRecord(layout);
  if (!record) return;
  if (record.volumeId !== volumeId) {
    call.log.warn(
      { staging: stagingPath, staged: record.volumeId },
      "another volume is staged here; nothing to unstage",
    );
    return;
  }
  const transport = transportFor(env, record.target);
  const device = await transport.find(record.target, { signal: call.signal, log: call.log });
  if (device) await refuseWhilePublished(env, layout, device);
  await env.mounter.unmountAll(layout.fsDir, call);
  await env.mounter.unmountAll(layout.blockFile, call);
  // A loop device keeps the read-only flag across attachments: clear it for the next volume.
  if (device && record.accessType === "block" && record.readOnly) {
    await env.run("blockdev", ["--setrw", device], { signal: call.signal });
  }
  await transport.detach(record.target, { signal: call.signal, log: call.log });
  await removeStagingFiles(layout);
  call.log.info({ staging: stagingPath }, "volume unstaged");
}

/**
 * The CO unpublishes before it unstages; if a publish is still mounted, unstaging would leave it
 * pointing at a detached device. Checked before anything is unmounted, so a refusal changes nothing.
 */
async function refuseWhilePublished(env: NodeEnv, layout: StagingLayout, device: string): Promise<void> {
  const name = kernelName(device);
  const table = await env.mounter.table();
  const number = await deviceNumber(env.sysfsRoot, name);
  const elsewhere = table.entries.filter(
    (e) =>
      (e.device === number && e.mountPoint !== layout.fsDir) ||
      (e.root === `/${name}` &&
        (e.fsType === "devtmpfs" || e.fsType === "tmpfs") &&
        e.mountPoint !== layout.blockFile),
  );
  if (elsewhere.length > 0) {
    throw notReady(
      `${device} is still mounted at ${elsewhere.map((e) => e.mountPoint).join(", ")}; unpublish it first`,
    );
  }
}
