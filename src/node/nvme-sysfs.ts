import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { isMissing } from "./sysfs.js";

/*
 * Finds an NVMe-oF subsystem and its namespace block devices by NQN in sysfs. Device names
 * (/dev/nvme0n1) depend on connection order and are never guessed; the NQN is the identity.
 *
 * Two kernel layouts exist. With native multipath (the default), the subsystem directory holds
 * the namespace head ("nvme0n1") and links to its controllers ("nvme0"); the per-path devices
 * ("nvme0c0n1") are hidden and not usable. Without it, each controller directory under
 * /sys/class/nvme holds its namespaces ("nvme0n1").
 */

export interface NvmeSubsystem {
  /** "nvme-subsys0"; empty when found through /sys/class/nvme only (kernels without the class). */
  name: string;
  nqn: string;
  /** Controller names, e.g. ["nvme0", "nvme3"]. */
  controllers: string[];
  /** Namespace block device names, lowest namespace id first. */
  namespaces: string[];
}

const CONTROLLER = /^nvme\d+$/;
const NAMESPACE = /^nvme\d+n\d+$/;

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort(byNumber);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

// nvme2 before nvme10, and nvme1n2 before nvme1n10.
function byNumber(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Keeps names that are real block devices and orders them by namespace id. */
async function usableNamespaces(root: string, dirs: { dir: string; name: string }[]): Promise<string[]> {
  const found: { name: string; nsid: number }[] = [];
  for (const { dir, name } of dirs) {
    if (!(await exists(join(root, "class/block", name)))) continue;
    const nsid = Number((await readTrimmed(join(dir, name, "nsid"))) ?? Number.NaN);
    if (!found.some((f) => f.name === name))
      found.push({ name, nsid: Number.isFinite(nsid) ? nsid : Number.MAX_SAFE_INTEGER });
  }
  found.sort((a, b) => a.nsid - b.nsid || byNumber(a.name, b.name));
  return found.map((f) => f.name);
}

async function controllerNamespaces(
  root: string,
  controllers: string[],
): Promise<{ dir: string; name: string }[]> {
  const out: { dir: string; name: string }[] = [];
  for (const ctrl of controllers) {
    const dir = join(root, "class/nvme", ctrl);
    for (const entry of await list(dir)) if (NAMESPACE.test(entry)) out.push({ dir, name: entry });
  }
  return out;
}

/** Every connected NVMe subsystem, with its controllers and namespaces. */
export async function listNvmeSubsystems(root: string): Promise<NvmeSubsystem[]> {
  const classDir = join(root, "class/nvme-subsystem");
  const subsystems: NvmeSubsystem[] = [];
  for (const name of await list(classDir)) {
    const dir = join(classDir, name);
    const nqn = await readTrimmed(join(dir, "subsysnqn"));
    if (nqn === undefined) continue;
    const entries = await list(dir);
    const controllers = entries.filter((e) => CONTROLLER.test(e));
    const heads = entries.filter((e) => NAMESPACE.test(e)).map((e) => ({ dir, name: e }));
    const candidates = heads.length > 0 ? heads : await controllerNamespaces(root, controllers);
    subsystems.push({ name, nqn, controllers, namespaces: await usableNamespaces(root, candidates) });
  }
  if (subsystems.length > 0 || (await exists(classDir))) return subsystems;
  return listByControllers(root);
}

/** Kernels without the nvme-subsystem class: group controllers by their own subsysnqn. */
async function listByControllers(root: string): Promise<NvmeSubsystem[]> {
  const byNqn = new Map<string, NvmeSubsystem>();
  for (const ctrl of (await list(join(root, "class/nvme"))).filter((c) => CONTROLLER.test(c))) {
    const nqn = await readTrimmed(join(root, "class/nvme", ctrl, "subsysnqn"));
    if (nqn === undefined) continue;
    const entry = byNqn.get(nqn) ?? { name: "", nqn, controllers: [], namespaces: [] };
    entry.controllers.push(ctrl);
    byNqn.set(nqn, entry);
  }
  for (const entry of byNqn.values()) {
    entry.namespaces = await usableNamespaces(root, await controllerNamespaces(root, entry.controllers));
  }
  return [...byNqn.values()];
}

export async function findNvmeSubsystem(root: string, nqn: string): Promise<NvmeSubsystem | undefined> {
  return (await listNvmeSubsystems(root)).find((s) => s.nqn === nqn);
}

/** The subsystem a namespace block device ("nvme0n1") belongs to. */
export async function subsystemOfNamespace(
  root: string,
  namespace: string,
): Promise<NvmeSubsystem | undefined> {
  return (await listNvmeSubsystems(root)).find((s) => s.namespaces.includes(namespace));
}

/** Controller state as the kernel reports it ("live", "connecting", "deleting", …). */
export async function controllerState(root: string, controller: string): Promise<string | undefined> {
  return readTrimmed(join(root, "class/nvme", controller, "state"));
}
