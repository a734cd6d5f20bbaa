import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/*
 * A temporary directory laid out like the parts of /sys the nvme-tcp transport reads. Two kernel
 * layouts are modelled: native multipath (namespace heads in the subsystem directory, hidden
 * per-path devices "nvmeXcYnZ" in the controller directories) and non-multipath (namespaces in
 * the controller directories).
 */

export interface FakeNamespace {
  name: string;
  nsid: number;
  /** "major:minor" */
  dev: string;
  sectors?: number;
}

export interface FakeController {
  name: string;
  state?: string;
  /** Namespaces under the controller (non-multipath layout) or hidden path devices. */
  namespaces?: FakeNamespace[];
  hiddenPaths?: string[];
}

export interface FakeSubsystem {
  name: string;
  nqn: string;
  controllers: FakeController[];
  /** Namespace heads in the subsystem directory (multipath layout). */
  heads?: FakeNamespace[];
}

async function put(path: string, content: string): Promise<void> {
  await writeFile(path, `${content}\n`);
}

async function addBlockDevice(root: string, ns: FakeNamespace): Promise<void> {
  const dir = join(root, "class/block", ns.name);
  await mkdir(dir, { recursive: true });
  await put(join(dir, "dev"), ns.dev);
  await put(join(dir, "size"), String(ns.sectors ?? 2048));
  await mkdir(join(dir, "holders"), { recursive: true });
  await mkdir(join(root, "dev/block"), { recursive: true });
  await symlink(`../../devices/virtual/nvme-subsystem/${ns.name}`, join(root, "dev/block", ns.dev)).catch(
    () => undefined,
  );
}

async function addNamespaceDir(parent: string, ns: FakeNamespace): Promise<void> {
  await mkdir(join(parent, ns.name), { recursive: true });
  await put(join(parent, ns.name, "nsid"), String(ns.nsid));
}

/** Adds one subsystem, as the kernel does after `nvme connect`. */
export async function addSubsystem(
  root: string,
  sub: FakeSubsystem,
  withSubsystemClass = true,
): Promise<void> {
  const subDir = join(root, "class/nvme-subsystem", sub.name);
  if (withSubsystemClass) {
    await mkdir(subDir, { recursive: true });
    await put(join(subDir, "subsysnqn"), sub.nqn);
  }
  for (const ctrl of sub.controllers) {
    const ctrlDir = join(root, "class/nvme", ctrl.name);
    await mkdir(ctrlDir, { recursive: true });
    await put(join(ctrlDir, "subsysnqn"), sub.nqn);
    await put(join(ctrlDir, "state"), ctrl.state ?? "live");
    for (const ns of ctrl.namespaces ?? []) {
      await addNamespaceDir(ctrlDir, ns);
      await addBlockDevice(root, ns);
    }
    for (const hidden of ctrl.hiddenPaths ?? []) await mkdir(join(ctrlDir, hidden), { recursive: true });
    if (withSubsystemClass) await symlink(`../../nvme/${ctrl.name}`, join(subDir, ctrl.name));
  }
  for (const head of sub.heads ?? []) {
    await addNamespaceDir(subDir, head);
    await addBlockDevice(root, head);
  }
}

/** Removes a subsystem, as the kernel does after `nvme disconnect`. */
export async function removeSubsystem(root: string, sub: FakeSubsystem): Promise<void> {
  await rm(join(root, "class/nvme-subsystem", sub.name), { recursive: true, force: true });
  for (const ctrl of sub.controllers) {
    await rm(join(root, "class/nvme", ctrl.name), { recursive: true, force: true });
    for (const ns of ctrl.namespaces ?? [])
      await rm(join(root, "class/block", ns.name), { recursive: true, force: true });
  }
  for (const head of sub.heads ?? [])
    await rm(join(root, "class/block", head.name), { recursive: true, force: true });
}

/** An empty sysfs with the nvme-subsystem class present (a kernel with nvme loaded). */
export async function emptySysfs(root: string): Promise<void> {
  await mkdir(join(root, "class/nvme-subsystem"), { recursive: true });
  await mkdir(join(root, "class/nvme"), { recursive: true });
  await mkdir(join(root, "class/block"), { recursive: true });
}
