/**
 * Drives the Controller service the way the gRPC pipeline does: handlers called with full requests
 * (every field present, as the proto loader delivers them) and a RequestContext, over a real
 * RdsClient and SSH connection to a real emulator. `restart()` throws the service, client and
 * connection away and builds new ones, as a controller restart would.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, expect } from "vitest";
import { createControllerService } from "../../src/csi/controller-service.js";
import { toStatusError } from "../../src/csi/errors.js";
import type { KeyedLocks } from "../../src/csi/locks.js";
import type { RequestContext, ServiceHandlers } from "../../src/csi/pipeline.js";
import type {
  AccessMode,
  ControllerMethods,
  CreateSnapshotRequest,
  CreateVolumeRequest,
  VolumeCapability,
  VolumeContentSource,
} from "../../src/csi/types.js";
import { RdsClient, RdsConnection } from "../../src/rds/index.js";
import { createStorage, type Storage, type StorageRds } from "../../src/storage/index.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { simConnectionOptions } from "../helpers/sim-connection.js";

export const ROOT = "rds-csi";
export const NQN_PREFIX = "nqn.2000-02.com.mikrotik:rds-csi";

export interface HarnessOptions {
  maxSnapshotsPerVolume?: number;
  transport?: "nvme-tcp" | "loop";
  /** Shared with the test, to see which ids are busy. */
  locks?: KeyedLocks;
  /** Wraps the real client, e.g. to hold one call while the test acts. */
  wrapClient?: (client: RdsClient) => StorageRds;
  /** Upper bound of one RouterOS command (the controller's --rds-command-timeout). */
  commandTimeoutMs?: number;
  /** The controller's --rds-allow-host-list. */
  allowHostList?: boolean;
  /** The controller's --max-volumes-per-node. */
  maxVolumesPerNode?: number;
}

type Method = keyof ControllerMethods;
type Request<M extends Method> = ControllerMethods[M]["request"];

export class Harness {
  connection!: RdsConnection;
  client!: RdsClient;
  service!: ServiceHandlers;
  #sim: SimFixture | undefined;

  /** Connected at once when given an emulator; otherwise by `attach` (see `useHarness`). */
  constructor(
    sim: SimFixture | undefined,
    private readonly options: HarnessOptions = {},
  ) {
    if (sim !== undefined) this.attach(sim);
  }

  get sim(): SimFixture {
    if (this.#sim === undefined) throw new Error("the harness has no emulator yet: use it inside a test");
    return this.#sim;
  }

  attach(sim: SimFixture): void {
    this.#sim = sim;
    this.restart();
  }

  /** A new connection, client and service; the old ones are closed. Nothing carries over. */
  restart(): void {
    this.connection?.close();
    this.connection = new RdsConnection(
      simConnectionOptions(this.sim, {
        reconnectBackoff: { initialMs: 20, maxMs: 200 },
        ...(this.options.commandTimeoutMs ? { commandTimeoutMs: this.options.commandTimeoutMs } : {}),
      }),
    );
    this.client = new RdsClient(this.connection, { retryBackoff: { initialMs: 20, maxMs: 200 } });
    const { wrapClient, ...options } = this.options;
    this.service = controllerServiceFor(
      this.sim,
      wrapClient ? wrapClient(this.client) : this.client,
      options,
    );
  }

  close(): void {
    this.connection?.close();
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests read responses field by field and compare them whole.
  async call<M extends Method>(method: M, request: Request<M>): Promise<Record<string, any>> {
    const handler = this.service[method];
    if (!handler) throw new Error(`no handler ${method}`);
    return handler(request, context(method));
  }

  /** The gRPC status a call ends with (0 = OK), and its message. */
  async outcome<M extends Method>(
    method: M,
    request: Request<M>,
  ): Promise<{ code: status; message: string }> {
    try {
      await this.call(method, request);
      return { code: 0, message: "" };
    } catch (err) {
      return toStatusError(err);
    }
  }

  async expectCode<M extends Method>(method: M, request: Request<M>, code: status): Promise<string> {
    const result = await this.outcome(method, request);
    expect(result.code, `${method}: ${result.message}`).toBe(code);
    return result.message;
  }
}

/**
 * The Controller service as the driver builds it, over `rds`, for the emulator's pool: root
 * `ROOT`, NVMe/TCP address 192.0.2.10:4420 (never dialled by these tests).
 */
export function controllerServiceFor(
  sim: SimFixture,
  rds: StorageRds,
  options: Omit<HarnessOptions, "wrapClient"> & { storage?: Storage } = {},
): ServiceHandlers {
  const storage = options.storage ?? storageFor(sim, rds);
  return createControllerService({
    storage,
    ...(options.locks ? { locks: options.locks } : {}),
    settings: {
      maxSnapshotsPerVolume: options.maxSnapshotsPerVolume ?? 0,
      allowHostList: options.allowHostList ?? false,
      maxVolumesPerNode: options.maxVolumesPerNode ?? 0,
      attachment: {
        transport: options.transport ?? "nvme-tcp",
        nvmeAddress: "192.0.2.10",
        nvmePort: 4420,
        loopPoolPath: sim.poolMountPath,
      },
    },
  });
}

/** The storage layer as the driver builds it, over `rds`, for the emulator's pool and root `ROOT`. */
export function storageFor(sim: SimFixture, rds: StorageRds): Storage {
  return createStorage(rds, {
    pool: sim.pool,
    fsLabel: sim.fsLabel,
    root: ROOT,
    nvmePort: 4420,
    nqnPrefix: NQN_PREFIX,
    logger: pino({ level: "silent" }),
  });
}

/**
 * The set-up every controller suite shares: one emulator and one harness for the test file, started
 * before its tests and stopped after them. The harness is returned at once; `h.sim` is there once
 * the tests run.
 */
export function useHarness(options: HarnessOptions = {}): Harness {
  const h = new Harness(undefined, options);
  let sim: SimFixture | undefined;
  beforeAll(async () => {
    sim = await startSim();
    h.attach(sim);
  });
  afterAll(async () => {
    h.close();
    await sim?.stop();
  });
  return h;
}

function context(method: string): RequestContext {
  return {
    requestId: "test",
    method,
    log: pino({ level: "silent" }),
    deadline: Date.now() + 60_000,
    signal: new AbortController().signal,
  };
}

// ---- request builders: every field present, as the proto loader delivers them ----

export function mountCapability(mode: AccessMode = "SINGLE_NODE_WRITER"): VolumeCapability {
  return {
    access_mode: { mode },
    access_type: "mount",
    mount: { fs_type: "ext4", mount_flags: [], volume_mount_group: "" },
  };
}

export function blockCapability(mode: AccessMode = "SINGLE_NODE_WRITER"): VolumeCapability {
  return {
    access_mode: { mode },
    access_type: "block",
    block: {},
  };
}

export function snapshotSource(snapshotId: string): VolumeContentSource {
  return { type: "snapshot", snapshot: { snapshot_id: snapshotId } };
}

export function volumeSource(volumeId: string): VolumeContentSource {
  return { type: "volume", volume: { volume_id: volumeId } };
}

export function createVolumeRequest(
  name: string,
  options: {
    required?: bigint;
    limit?: bigint;
    noRange?: boolean;
    source?: VolumeContentSource;
    capabilities?: VolumeCapability[];
    parameters?: Record<string, string>;
  } = {},
): CreateVolumeRequest {
  return {
    name,
    capacity_range: options.noRange
      ? null
      : { required_bytes: String(options.required ?? 0n), limit_bytes: String(options.limit ?? 0n) },
    volume_capabilities: options.capabilities ?? [mountCapability()],
    parameters: options.parameters ?? {},
    secrets: {},
    volume_content_source: options.source ?? null,
    accessibility_requirements: null,
    mutable_parameters: {},
  };
}

export function createSnapshotRequest(name: string, sourceVolumeId: string): CreateSnapshotRequest {
  return { name, source_volume_id: sourceVolumeId, secrets: {}, parameters: {} };
}

export function listSnapshotsRequest(
  options: { maxEntries?: number; token?: string; sourceVolumeId?: string; snapshotId?: string } = {},
): Request<"ListSnapshots"> {
  return {
    max_entries: options.maxEntries ?? 0,
    starting_token: options.token ?? "",
    source_volume_id: options.sourceVolumeId ?? "",
    snapshot_id: options.snapshotId ?? "",
    secrets: {},
  };
}

// ---- what the emulator holds ----

export interface RdsState {
  /** `/disk` items of this driver: slot, file path, size, export, comment. */
  disks: string[];
  /** Subvolumes under the root: fullname, `folder` for a volume's snapshot folder, read-only flag. */
  subvolumes: string[];
  /** Every file and directory under the root on the pool's filesystem, with sizes of files (no delete marks). */
  files: string[];
}

/** Everything under the driver's root, read from RouterOS and from the pool filesystem itself. */
export async function rdsState(h: Harness): Promise<RdsState> {
  const disks = (await h.client.listDisks({ slotPrefix: "pvc-" })).map(
    (d) =>
      `${d.slot} ${d.filePath} ${d.fileSize} export=${d.nvmeExport} ${d.nqn} ${stableComment(d.comment)}`,
  );
  // The top folders of the layout are left out: the driver always makes them as subvolumes. A
  // volume's snapshot folder is kept, marked: it becomes a subvolume on a RouterOS that refuses
  // subvolumes under plain directories, and a run that starts from the other kind takes other steps.
  const top = new RegExp(`^${ROOT}/(vols|snaps|deleted)$`);
  const folder = new RegExp(`^${ROOT}/snaps/pvc-[^/]+$`);
  const subvolumes = (await h.client.listSubvolumes({ fullnamePrefix: `${ROOT}/`, fs: h.sim.fsLabel }))
    .filter((s) => !top.test(s.fullname))
    .map((s) => `${s.fullname}${folder.test(s.fullname) ? " folder" : ""}${s.readOnly ? " ro" : ""}`);
  const files = withoutMarks(await walk(path.join(h.sim.poolMountPath, ROOT), ROOT));
  return { disks: disks.sort(), subvolumes: subvolumes.sort(), files: files.sort() };
}

/**
 * The token of the create attempt that made a `/disk` item, in its comment and in the commands that
 * name it: random per attempt, and gone once a retry confirmed the volume.
 */
export const ATTEMPT_TOKEN = /attempt=[0-9a-f]+/g;

/**
 * The time in the name of a delete's mark (`<root>/deleted/<id>.<unix ms>`, see
 * src/storage/tombstones.ts): different in every run, like the attempt token.
 */
const MARK_TIME = /(\/deleted\/(?:pvc|snap)-[0-9a-f-]{36})\.\d+/g;

/** A command line or comment with the attempt token and the mark time made uniform, to compare runs. */
export function withoutAttemptToken(text: string): string {
  return text.replace(ATTEMPT_TOKEN, "attempt=*").replace(MARK_TIME, "$1.*");
}

/**
 * A regular expression matching exactly this command line, whatever attempt token, mark time or
 * subvolume uuid (`uuid="…"`: a folder made again by the scenario's setup is a new subvolume) it carries.
 */
export function exactLine(line: string): string {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return `^${escaped
    .replace(ATTEMPT_TOKEN, "attempt=[0-9a-f]+")
    .replace(/\buuid="[0-9a-f-]{36}"/g, 'uuid="[0-9a-f-]{36}"')
    .replace(/(\/deleted\/(?:pvc|snap)-[0-9a-f-]{36})\\\.\d+/g, "$1\\.[0-9]+")}$`;
}

/**
 * Without the delete marks (`<root>/deleted/`): how many a delete leaves depends on its retries,
 * their names on the clock, and the sweep drops them; test/controller/late-deletes.test.ts checks them.
 */
function withoutMarks(files: readonly string[]): string[] {
  return files.filter((f) => !f.startsWith(`${ROOT}/deleted/`));
}

function stableComment(comment: string | null): string {
  return (comment ?? "").replace(/ attempt=[0-9a-f]+/, "");
}

async function walk(dir: string, relative: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries) {
    const full = path.join(dir, name);
    const rel = `${relative}/${name}`;
    const info = await stat(full);
    if (info.isDirectory()) out.push(`${rel}/`, ...(await walk(full, rel)));
    else out.push(`${rel} ${info.size}`);
  }
  return out;
}
