import { lstat, mkdir, open, realpath, rmdir, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { VolumeMode } from "./capability.js";
import type { NodeEnv, OpCall } from "./env.js";
import { badArgument, broken, conflict, notReady } from "./errors.js";
import { canonicalPath } from "./mounter.js";
import { isReadOnly, type MountEntry } from "./mountinfo.js";
import { readRecord, stagingLayout } from "./staging.js";
import { isMissing } from "./sysfs.js";

export interface PublishRequest {
  volumeId: string;
  stagingPath: string;
  targetPath: string;
  mode: VolumeMode;
  /** The request's `readonly` flag; a reader-only access mode also makes the bind read-only. */
  readOnly: boolean;
}

/** The staged mount a publish binds from: the filesystem directory or the device node bind. */
async function stagedSource(env: NodeEnv, req: PublishRequest): Promise<{ path: string; entry: MountEntry }> {
  const layout = stagingLayout(await canonicalPath(req.stagingPath));
  const record = await readRecord(layout);
  if (!record || record.volumeId !== req.volumeId) {
    throw notReady(
      `volume ${req.volumeId} is not staged at ${req.stagingPath}; NodeStageVolume must succeed first`,
    );
  }
  if (record.accessType !== req.mode.accessType) {
    throw badArgument(
      `volume ${req.volumeId} was staged as ${record.accessType} but is published as ${req.mode.accessType}`,
    );
  }
  const path = record.accessType === "mount" ? layout.fsDir : layout.blockFile;
  const entry = await env.mounter.mountAt(path);
  if (!entry)
    throw notReady(`the staging mount ${path} of volume ${req.volumeId} is missing; stage the volume again`);
  return { path, entry };
}

async function prepareTarget(targetPath: string, block: boolean): Promise<void> {
  if (!block) {
    await mkdir(targetPath, { recursive: true, mode: 0o750 });
    return;
  }
  await mkdir(dirname(targetPath), { recursive: true, mode: 0o750 });
  try {
    if ((await lstat(targetPath)).isDirectory()) {
      throw badArgument(`target ${targetPath} is a directory; a block volume is published at a file`);
    }
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  await (await open(targetPath, "a", 0o600)).close();
}

/**
 * Bind-mounts the staged volume at the target (read-only when asked). Publishing again with the
 * same options succeeds; a target already holding something else is ALREADY_EXISTS.
 */
export async function publishVolume(env: NodeEnv, req: PublishRequest, call: OpCall): Promise<void> {
  const source = await stagedSource(env, req);
  const readOnly = req.readOnly || req.mode.readOnly;
  const current = await env.mounter.mountAt(req.targetPath);
  if (current) {
    const same = current.device === source.entry.device && current.root === source.entry.root;
    if (same && isReadOnly(current) === readOnly) return;
    throw conflict(
      same
        ? `volume ${req.volumeId} is already published at ${req.targetPath} ${isReadOnly(current) ? "read-only" : "read-write"}`
        : `${req.targetPath} already has another mount (${current.source})`,
    );
  }
  await prepareTarget(req.targetPath, req.mode.accessType === "block");
  await env.mounter.bind(source.path, await canonicalPath(req.targetPath), readOnly, call);
  call.log.info({ target: req.targetPath, readOnly }, "volume published");
}

/**
 * Unmounts the target and removes the directory or file publishing created there. A mount that is
 * not this volume's — another volume of this driver, or no volume of it at all — is left alone.
 */
export async function unpublishVolume(
  env: NodeEnv,
  volumeId: string,
  targetPath: string,
  call: OpCall,
): Promise<void> {
  const path = await canonicalPath(targetPath);
  let isDir: boolean;
  try {
    isDir = (await lstat(path)).isDirectory();
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  const current = await env.mounter.mountAt(path);
  if (current) await refuseForeignMount(env, volumeId, targetPath, current, call);
  await env.mounter.unmountAll(path, call);
  try {
    await (isDir ? rmdir(path) : unlink(path));
  } catch (err) {
    if (isMissing(err)) return;
    // Never delete what a volume left behind in a directory that should be an empty mount point.
    if (err instanceof Error && "code" in err && err.code === "ENOTEMPTY") {
      throw broken(`${targetPath} is not empty after unmounting; left in place for inspection`);
    }
    throw err;
  }
  call.log.info({ target: targetPath }, "volume unpublished");
}

/**
 * The block device a mount shows: for a raw block publish (a bind of a device node) the node's
 * name inside the /dev filesystem (devtmpfs, or a container's tmpfs), else the device of the
 * mounted filesystem.
 */
async function blockDeviceOf(env: NodeEnv, entry: MountEntry): Promise<string | undefined> {
  const node = `/dev/${basename(entry.root)}`;
  if (entry.root !== "/" && Object.values(env.transports).some((t) => t.owns(node))) return node;
  try {
    return `/dev/${basename(await realpath(`/sys/dev/block/${entry.device}`))}`;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function refuseForeignMount(
  env: NodeEnv,
  volumeId: string,
  targetPath: string,
  entry: MountEntry,
  call: OpCall,
): Promise<void> {
  const device = await blockDeviceOf(env, entry);
  const transport = Object.values(env.transports).find((t) => device !== undefined && t.owns(device));
  if (device === undefined || transport === undefined) {
    throw notReady(
      `${targetPath} holds ${entry.source} (${entry.fsType}), which is no volume of this driver; left mounted`,
    );
  }
  const holds = await transport.volumeOf(device);
  if (holds === undefined) {
    // The kernel does not say which volume: unpublishing must still be possible.
    call.log.warn({ target: targetPath, device }, "cannot tell which volume the target holds; unmounting");
    return;
  }
  if (holds !== volumeId) {
    throw notReady(`${targetPath} holds volume ${holds} (${device}), not ${volumeId}; left mounted`);
  }
}
