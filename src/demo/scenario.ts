import { mkdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { CsiClient } from "./csi-client.js";
import {
  compareManifests,
  identical,
  type Manifest,
  mutateDataset,
  readManifest,
  writeDataset,
} from "./dataset.js";

export interface StepReport {
  step: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface ScenarioOptions {
  csi: CsiClient;
  /** Scratch directory for staging and publish paths. */
  workDir: string;
  fsType?: "ext4" | "xfs";
  volumeBytes?: bigint;
  onStep?: (report: StepReport) => void;
}

const MiB = 1024n * 1024n;

interface Volume {
  volume_id: string;
  capacity_bytes: string;
  volume_context: Record<string, string>;
  content_source: unknown;
}

/**
 * The end-to-end story the demo tells and the e2e test asserts: volume → write → snapshot while
 * mounted → overwrite → restore (same size and larger) → verify every checksum → delete the source
 * and the snapshot → restored volumes still intact → clone → verify. Everything it creates is
 * removed again, also when a step fails.
 */
export class SnapshotScenario {
  readonly steps: StepReport[] = [];
  private readonly csi: CsiClient;
  private readonly fsType: "ext4" | "xfs";
  private readonly size: bigint;
  private readonly published = new Map<string, { target: string; staging: string; nodeId: string }>();
  #nodeId: string | undefined;
  private readonly volumes = new Set<string>();
  private readonly snapshots = new Set<string>();
  /** The step running now, settled or not: cleanup waits for it, so nothing it makes escapes. */
  #inFlight: Promise<unknown> = Promise.resolve();
  #stopping = false;

  constructor(private readonly options: ScenarioOptions) {
    this.csi = options.csi;
    this.fsType = options.fsType ?? "ext4";
    this.size = options.volumeBytes ?? 256n * MiB;
  }

  private capability() {
    return { mount: { fs_type: this.fsType, mount_flags: [] }, access_mode: { mode: "SINGLE_NODE_WRITER" } };
  }

  private async step<T>(name: string, fn: () => Promise<{ value: T; detail: string }>): Promise<T> {
    if (this.#stopping) throw new Error(`not started: ${name} (the scenario is stopping)`);
    const started = Date.now();
    const running = fn();
    this.#inFlight = running.catch(() => undefined);
    try {
      const { value, detail } = await running;
      this.record({ step: name, ok: true, detail, ms: Date.now() - started });
      return value;
    } catch (err) {
      this.record({
        step: name,
        ok: false,
        detail: err instanceof Error ? err.message : String(err),
        ms: Date.now() - started,
      });
      throw err;
    }
  }

  private record(r: StepReport) {
    this.steps.push(r);
    this.options.onStep?.(r);
  }

  async createVolume(
    name: string,
    bytes: bigint,
    source?: { snapshot?: string; volume?: string },
  ): Promise<Volume> {
    const content = source?.snapshot
      ? { snapshot: { snapshot_id: source.snapshot } }
      : source?.volume
        ? { volume: { volume_id: source.volume } }
        : null;
    const res = await this.csi.call<{ volume: Volume }>("Controller", "CreateVolume", {
      name,
      capacity_range: { required_bytes: String(bytes), limit_bytes: "0" },
      volume_capabilities: [this.capability()],
      parameters: {},
      volume_content_source: content,
    });
    this.volumes.add(res.volume.volume_id);
    return res.volume;
  }

  /** Stages and publishes a volume the way kubelet does; returns the mounted path. */
  async mount(vol: Volume, label: string): Promise<string> {
    const staging = join(this.options.workDir, "staging", label);
    const target = join(this.options.workDir, "pods", label, "mount");
    await mkdir(staging, { recursive: true });
    await mkdir(join(this.options.workDir, "pods", label), { recursive: true });
    const common = {
      volume_id: vol.volume_id,
      volume_capability: this.capability(),
      volume_context: vol.volume_context,
    };
    // As the external-attacher does before kubelet stages: the volume is exported to this node only.
    const nodeId = await this.nodeId();
    this.published.set(vol.volume_id, { target: "", staging: "", nodeId });
    await this.csi.call("Controller", "ControllerPublishVolume", {
      volume_id: vol.volume_id,
      node_id: nodeId,
      volume_capability: this.capability(),
      readonly: false,
      secrets: {},
      volume_context: vol.volume_context,
    });
    // Known before the call, so a cleanup that meets this stage half done still unstages it.
    this.published.set(vol.volume_id, { target: "", staging, nodeId });
    await this.csi.call("Node", "NodeStageVolume", {
      ...common,
      staging_target_path: staging,
      publish_context: {},
    });
    this.published.set(vol.volume_id, { target, staging, nodeId });
    await this.csi.call("Node", "NodePublishVolume", {
      ...common,
      staging_target_path: staging,
      target_path: target,
      readonly: false,
      publish_context: {},
    });
    return target;
  }

  private async nodeId(): Promise<string> {
    this.#nodeId ??= (await this.csi.call<{ node_id: string }>("Node", "NodeGetInfo", {})).node_id;
    return this.#nodeId;
  }

  async unmount(volumeId: string): Promise<void> {
    const p = this.published.get(volumeId);
    if (!p) return;
    if (p.target)
      await this.csi.call("Node", "NodeUnpublishVolume", { volume_id: volumeId, target_path: p.target });
    if (p.staging)
      await this.csi.call("Node", "NodeUnstageVolume", {
        volume_id: volumeId,
        staging_target_path: p.staging,
      });
    await this.csi.call("Controller", "ControllerUnpublishVolume", {
      volume_id: volumeId,
      node_id: p.nodeId,
      secrets: {},
    });
    this.published.delete(volumeId);
  }

  async deleteVolume(volumeId: string): Promise<void> {
    await this.unmount(volumeId);
    await this.csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets: {} });
    this.volumes.delete(volumeId);
  }

  private expectIdentical(expected: Manifest, actual: Manifest, what: string): string {
    const c = compareManifests(expected, actual);
    if (!identical(c)) {
      throw new Error(
        `${what}: ${c.different.length} changed, ${c.missing.length} missing, ${c.extra.length} extra files`,
      );
    }
    return `${c.matching}/${expected.size} checksums match`;
  }

  /** Runs the whole story. Throws on the first failed step (after recording it). */
  async run(): Promise<void> {
    const source = await this.step("create source volume", async () => {
      const v = await this.createVolume("demo-source", this.size);
      return { value: v, detail: `${v.volume_id}, ${BigInt(v.capacity_bytes) / MiB} MiB` };
    });
    const srcPath = await this.step("stage + publish source (mkfs)", async () => ({
      value: await this.mount(source, "source"),
      detail: `${this.fsType} mounted`,
    }));
    const original = await this.step("write data set", async () => {
      const m = await writeDataset(srcPath);
      return { value: m, detail: `${m.size} files with sha256` };
    });
    const snapshot = await this.step("snapshot while mounted", async () => {
      const res = await this.csi.call<{
        snapshot: { snapshot_id: string; ready_to_use: boolean; size_bytes: string };
      }>("Controller", "CreateSnapshot", {
        name: "demo-snapshot",
        source_volume_id: source.volume_id,
        parameters: {},
        secrets: {},
      });
      this.snapshots.add(res.snapshot.snapshot_id);
      if (!res.snapshot.ready_to_use) throw new Error("snapshot not ready_to_use");
      return { value: res.snapshot, detail: `${res.snapshot.snapshot_id}, ready` };
    });
    await this.step("overwrite and delete files on the source", async () => {
      const r = await mutateDataset(srcPath, original);
      return { value: r, detail: `${r.changed} overwritten, ${r.deleted} deleted` };
    });
    const restore = await this.step("restore snapshot (same size) and verify", async () => {
      const v = await this.createVolume("demo-restore-same", BigInt(snapshot.size_bytes), {
        snapshot: snapshot.snapshot_id,
      });
      if (!v.content_source) throw new Error("CreateVolume did not echo content_source");
      const path = await this.mount(v, "restore");
      return {
        value: { v, path },
        detail: this.expectIdentical(original, await readManifest(path), "restored volume"),
      };
    });
    const larger = await this.step("restore snapshot (2x size) and verify", async () => {
      const v = await this.createVolume("demo-restore-large", BigInt(snapshot.size_bytes) * 2n, {
        snapshot: snapshot.snapshot_id,
      });
      const path = await this.mount(v, "restore-large");
      const fs = await statfs(path);
      const fsBytes = BigInt(fs.blocks) * BigInt(fs.bsize);
      if (fsBytes <= BigInt(snapshot.size_bytes)) {
        throw new Error(`filesystem not grown: ${fsBytes} bytes on a ${v.capacity_bytes}-byte volume`);
      }
      const detail = this.expectIdentical(original, await readManifest(path), "larger restore");
      return { value: { v, path }, detail: `${detail}; filesystem ${fsBytes / MiB} MiB` };
    });
    const mutated = await readManifest(srcPath);
    const clone = await this.step("clone the source volume and verify", async () => {
      const v = await this.createVolume("demo-clone", BigInt(source.capacity_bytes), {
        volume: source.volume_id,
      });
      const path = await this.mount(v, "clone");
      return { value: { v, path }, detail: this.expectIdentical(mutated, await readManifest(path), "clone") };
    });
    await this.step("delete source volume and snapshot", async () => {
      await this.deleteVolume(source.volume_id);
      await this.csi.call("Controller", "DeleteSnapshot", { snapshot_id: snapshot.snapshot_id, secrets: {} });
      this.snapshots.delete(snapshot.snapshot_id);
      return { value: undefined, detail: "deleted" };
    });
    await this.step("restored and cloned volumes still intact (remounted)", async () => {
      const details: string[] = [];
      for (const [label, entry, expected] of [
        ["restore", restore, original],
        ["restore-large", larger, original],
        ["clone", clone, mutated],
      ] as const) {
        await this.unmount(entry.v.volume_id);
        const path = await this.mount(entry.v, label);
        details.push(`${label}: ${this.expectIdentical(expected, await readManifest(path), label)}`);
      }
      return { value: undefined, detail: details.join("; ") };
    });
  }

  /** Removes everything the scenario created, newest first; keeps going past failures. */
  async cleanup(): Promise<string[]> {
    // Interrupted mid-step (Ctrl-C), a NodeStage may still be on its way: let it land, so that
    // what it mounts is known and unmounted below, and start no further step.
    this.#stopping = true;
    await this.#inFlight;
    const problems: string[] = [];
    for (const id of [...this.published.keys()].reverse()) {
      await this.unmount(id).catch((e: Error) => problems.push(`unmount ${id}: ${e.message}`));
    }
    for (const id of [...this.volumes].reverse()) {
      await this.deleteVolume(id).catch((e: Error) => problems.push(`delete volume ${id}: ${e.message}`));
    }
    for (const id of this.snapshots) {
      await this.csi
        .call("Controller", "DeleteSnapshot", { snapshot_id: id, secrets: {} })
        .then(() => this.snapshots.delete(id))
        .catch((e: Error) => problems.push(`delete snapshot ${id}: ${e.message}`));
    }
    return problems;
  }
}
