import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** One `/disk` item. Ids are allocated monotonically and never reused; array order is print order. */
export interface DiskRecord {
  id: number;
  type: "file" | "raid";
  slot: string;
  comment?: string;
  disabled: boolean;
  /** RouterOS path with a leading slash (`/raid1/rds-csi/vols/pvc-x/disk.img`). */
  filePath?: string;
  fileSize?: bigint;
  fileOffset: bigint;
  mountFilesystem: boolean;
  mountReadOnly: boolean;
  compress: boolean;
  nvmeTcpExport: boolean;
  nvmeTcpServerPort: number;
  nvmeTcpServerNqn?: string;
  nvmeTcpServerAllowHostName: string;
  nvmeTcpServerPassword?: string;
  iscsiExport: boolean;
  nfsSharing: boolean;
  smbSharing: boolean;
  mediaSharing: boolean;
  mediaInterface: string;
  swap: boolean;
  /** The pre-seeded pool disk (slot = pool name); its size/free/use are read live. */
  pool?: boolean;
  raidUuid?: string;
}

interface StateFileV1 {
  version: 1;
  nextId: number;
  disks: Array<Record<string, unknown>>;
  settings: Record<string, unknown>;
}

const BIGINT_FIELDS = ["fileSize", "fileOffset"] as const;

/** The emulator's persistent state in `<dataDir>/state.json`: the `/disk` table and settings. */
export class StateStore {
  private constructor(
    private readonly file: string,
    public nextId: number,
    public disks: DiskRecord[],
    public settings: Record<string, unknown>,
  ) {}

  static async load(dataDir: string): Promise<StateStore> {
    const file = path.join(dataDir, "state.json");
    if (!existsSync(file)) return new StateStore(file, 1, [], {});
    const raw = JSON.parse(await readFile(file, "utf8")) as StateFileV1;
    if (raw.version !== 1) throw new Error(`${file}: unsupported state version ${String(raw.version)}`);
    const disks = raw.disks.map((d) => {
      const out: Record<string, unknown> = { ...d };
      for (const f of BIGINT_FIELDS) if (typeof d[f] === "string") out[f] = BigInt(d[f] as string);
      return out as unknown as DiskRecord;
    });
    return new StateStore(file, raw.nextId, disks, raw.settings ?? {});
  }

  allocateId(): number {
    const id = this.nextId;
    this.nextId += 1;
    return id;
  }

  /** Writes atomically (temp file + rename) so a crash never leaves a torn state file. */
  async save(): Promise<void> {
    const data: StateFileV1 = {
      version: 1,
      nextId: this.nextId,
      disks: this.disks.map((d) => {
        const out: Record<string, unknown> = { ...d };
        for (const f of BIGINT_FIELDS) if (typeof d[f] === "bigint") out[f] = (d[f] as bigint).toString();
        return out;
      }),
      settings: this.settings,
    };
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`);
    await rename(tmp, this.file);
  }
}
