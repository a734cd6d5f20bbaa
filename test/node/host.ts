import { execFile } from "node:child_process";
import { mkdtemp, open, readdir, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { createNodeService, type NodeServiceOptions } from "../../src/csi/node-service.js";
import { loadCsiServices } from "../../src/csi/proto.js";
import { type CsiServer, startCsiServer } from "../../src/csi/server.js";
import { registerServices } from "../../src/csi/services.js";
import { createLogger } from "../../src/log.js";
import { parseMountInfo } from "../../src/node/mountinfo.js";

/*
 * Real loop devices and filesystems for the node tests. Everything lives under one temporary
 * directory; cleanup unmounts only mounts under it and detaches only loop devices whose backing
 * file is under it, so tests running beside these on the same machine are never touched.
 */

export const exec = promisify(execFile);

export const MiB = 1024n * 1024n;

export async function sparseFile(path: string, bytes: bigint): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.truncate(Number(bytes));
  } finally {
    await handle.close();
  }
}

/** Grows a backing file in place, as the emulator does for `/disk set file-size=`. */
export async function growFile(path: string, bytes: bigint): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(Number(bytes));
  } finally {
    await handle.close();
  }
}

export async function mountsUnder(dir: string): Promise<string[]> {
  const entries = parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
  return entries.map((e) => e.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Loop devices whose backing file lies under `dir`, read from sysfs. */
export async function loopDevicesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir("/sys/block")) {
    if (!/^loop\d+$/.test(name)) continue;
    const backing = await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => "");
    if (backing.startsWith(`${dir}/`)) found.push(`/dev/${name}`);
  }
  return found;
}

export async function blkidValue(device: string, tag: string): Promise<string> {
  try {
    const { stdout } = await exec("blkid", ["-p", "-s", tag, "-o", "value", "--", device]);
    return stdout.trim();
  } catch {
    return "";
  }
}

export async function loopDeviceOf(file: string): Promise<string | undefined> {
  const { stdout } = await exec("losetup", [
    "--list",
    "--noheadings",
    "--output",
    "NAME",
    "--associated",
    file,
  ]);
  return stdout.trim().split("\n")[0] || undefined;
}

export async function hasCapSysResource(): Promise<boolean> {
  const status = await readFile("/proc/self/status", "utf8");
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** A Node service served over a unix socket, called through a real gRPC client. */
export interface NodeHarness {
  dir: string;
  pool: string;
  call<T = Record<string, unknown>>(method: string, req: object): Promise<T>;
  /** The gRPC status code of a failing call. */
  codeOf(method: string, req: object): Promise<grpc.status | "OK">;
  /** The status a call ends with (0 = OK) and its message. */
  outcome(method: string, req: object): Promise<{ code: grpc.status; message: string }>;
  close(): Promise<void>;
}

export async function startNodeHarness(
  prefix: string,
  options: Partial<NodeServiceOptions> = {},
): Promise<NodeHarness> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), `rds-csi-${prefix}-`)));
  const pool = join(dir, "pool");
  await exec("mkdir", ["-p", pool]);
  const logger = createLogger("silent");
  const handlers = createNodeService({ nodeId: "node-1", loopAllowedRoot: pool, ...options });
  const socket = join(dir, "csi.sock");
  let server: CsiServer | undefined;
  let client: (grpc.Client & Record<string, Unary>) | undefined;
  try {
    server = await startCsiServer({
      endpoint: `unix://${socket}`,
      services: registerServices({ Node: handlers }, { logger }),
      logger,
    });
    const NodeClient = grpc.makeGenericClientConstructor(loadCsiServices().Node, "Node");
    client = new NodeClient(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client &
      Record<string, Unary>;
  } catch (err) {
    await server?.stop(100);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const c = client;
  const call = <T>(method: string, req: object) =>
    new Promise<T>((resolve, reject) => {
      const fn = c[method];
      if (!fn) throw new Error(`no method ${method}`);
      fn.call(c, req, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  return {
    dir,
    pool,
    call,
    codeOf: async (method, req) => {
      try {
        await call(method, req);
        return "OK";
      } catch (err) {
        return (err as grpc.ServiceError).code;
      }
    },
    outcome: async (method, req) => {
      try {
        await call(method, req);
        return { code: grpc.status.OK, message: "" };
      } catch (err) {
        const e = err as grpc.ServiceError;
        return { code: e.code, message: e.details };
      }
    },
    close: async () => {
      c.close();
      await server?.stop(1000);
      await cleanupUnder(dir);
    },
  };
}

/** Unmounts (deepest first) and detaches everything under `dir`, then removes it. */
export async function cleanupUnder(dir: string): Promise<void> {
  const problems: string[] = [];
  for (let round = 0; round < 8; round++) {
    const mounts = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
    if (mounts.length === 0) break;
    for (const m of mounts) await exec("umount", ["--", m]).catch((e: Error) => problems.push(e.message));
  }
  for (const device of await loopDevicesUnder(dir)) {
    await exec("losetup", ["--detach", device]).catch((e: Error) => problems.push(e.message));
  }
  const left = [...(await mountsUnder(dir)), ...(await loopDevicesUnder(dir))];
  if (left.length === 0) await rm(dir, { recursive: true, force: true });
  else throw new Error(`could not clean up ${left.join(", ")}: ${problems.join("; ")}`);
}

export function mountCapability(fsType = "", flags: string[] = [], mode = "SINGLE_NODE_WRITER") {
  return { mount: { fs_type: fsType, mount_flags: flags }, access_mode: { mode } };
}

export function blockCapability(mode = "SINGLE_NODE_WRITER") {
  return { block: {}, access_mode: { mode } };
}

export function loopContext(backingFile: string) {
  return { transport: "loop", backingFile };
}
