import { RdsClient, RdsConnection } from "../../../src/rds/index.js";
import { simConnectionOptions } from "../../helpers/sim-connection.js";
import type { ClusterInfo } from "./cluster.js";

/**
 * What is on the RDS, read the way an operator would over SSH: the driver's `/disk` items and its
 * snapshot subvolumes. Kubernetes objects say what the cluster believes; this says what is left.
 */
export interface RdsState {
  /** Volume id → exact size of the backing file. */
  disks: Map<string, bigint>;
  /** Snapshot ids (read-only subvolumes below <root>/snaps/<volume id>/). */
  snapshots: Set<string>;
}

export class RdsView {
  readonly #connection: RdsConnection;
  readonly #client: RdsClient;

  constructor(private readonly info: ClusterInfo) {
    this.#connection = new RdsConnection(simConnectionOptions(info.sim));
    this.#client = new RdsClient(this.#connection);
  }

  get client(): RdsClient {
    return this.#client;
  }

  async state(): Promise<RdsState> {
    const root = this.info.driverRoot;
    const disks = new Map<string, bigint>();
    for (const d of await this.#client.listDisks({ slotPrefix: "pvc-" })) {
      if (d.filePath?.startsWith(`/${this.info.sim.pool}/${root}/vols/`))
        disks.set(d.slot, d.fileSize ?? -1n);
    }
    const snapshots = new Set<string>();
    for (const s of await this.#client.listSubvolumes({
      fullnamePrefix: `${root}/snaps/`,
      fs: this.info.sim.fsLabel,
    })) {
      if (s.readOnly) snapshots.add(s.name);
    }
    return { disks, snapshots };
  }

  close(): void {
    this.#connection.close();
  }
}
