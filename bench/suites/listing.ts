import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeListToken } from "../../src/csi/controller/tokens.js";
import { snapshotIdFor } from "../../src/storage/index.js";
import type { BenchStack } from "../lib/bench-stack.js";
import { createSnapshot, createVolume, deleteSnapshot, listSnapshots } from "../lib/csi-ops.js";
import { type CallSample, KEEPALIVE, measureCall } from "../lib/measure.js";
import type { ListingStep } from "../lib/plan.js";
import { median } from "../lib/stats.js";
import { type CommandReplay, replayReads } from "./floor.js";

/**
 * ListSnapshots with many snapshots in the pool: the first page of 100, the full walk page by page,
 * and everything in one call; plus CreateSnapshot and DeleteSnapshot with that many present, taken
 * the same way as with none present (`snapshotOps`), so the two compare like with like.
 *
 * The snapshots are made directly on the pool with `btrfs subvolume snapshot -r`, not through CSI:
 * exactly the subvolume the driver would make (`<root>/snaps/<volume id>/<id derived from the name>`,
 * a read-only snapshot of the volume's subvolume), without paying 5 SSH round trips for each.
 */

export const PAGE_SIZE = 100;
const VOLUMES = 10;
/** Snapshots are made in parallel, one stream per volume (Btrfs serialises them per directory). */
const PARALLEL = VOLUMES;
/** Times the first page's commands are replayed, over SSH and inside the emulator. */
const PAGE_REPLAYS = 3;
/** Pages timed along a walk too long to run to its end. */
const SAMPLED_PAGES = 6;

export interface WalkSample {
  /** Total time of the walk, ms; when `sampledPages` is set, estimated from the sampled pages. */
  ms: number;
  pages: number;
  roundTrips: number;
  pageMs: number[];
  /** Set when the walk would exceed the time budget: how many pages (spread over the walk) were timed. */
  sampledPages?: number;
}

export interface ListingSamples {
  snapshots: number;
  populateMs: number;
  firstPage: CallSample[];
  walk: WalkSample[];
  oneCall: CallSample[];
  /** The first page's commands, replayed over SSH and inside the emulator alone. */
  pageReplay: CommandReplay[];
}

/** CreateSnapshot, each followed by the DeleteSnapshot of what it made. */
export interface SnapshotOpsSamples {
  snapshots: number;
  createSnapshot: CallSample[];
  deleteSnapshot: CallSample[];
}

export class ListingSuite {
  private volumes: string[] = [];
  private made = 0;

  constructor(private readonly stack: BenchStack) {}

  async prepare(): Promise<void> {
    for (let i = 0; i < VOLUMES; i++) {
      this.volumes.push(await createVolume(this.stack.csi, `bench-list-volume-${i}`, 1n << 30n));
    }
  }

  /** Grows the pool's snapshots to `count`; returns the time it took, ms. */
  async populate(count: number): Promise<number> {
    const started = Date.now();
    const mount = this.stack.poolMountPath;
    const lines: string[] = [];
    for (let i = this.made; i < count; i++) {
      const volumeId = this.volumes[i % VOLUMES]!;
      const snapshotId = snapshotIdFor(`bench-list-snapshot-${i}`);
      lines.push(`${mount}/rds-csi/vols/${volumeId} ${mount}/rds-csi/snaps/${volumeId}/${snapshotId}`);
    }
    const listFile = join(this.stack.options.workDir, `snapshots-${count}.txt`);
    writeFileSync(listFile, `${lines.join("\n")}\n`);
    await runShell(`xargs -P ${PARALLEL} -L 1 btrfs subvolume snapshot -r < "$1" > /dev/null`, listFile);
    this.made = count;
    await this.awaitEmulatorSees(count);
    const all = await listSnapshots(this.stack.csi, 0);
    if (all.ids.length !== count) {
      throw new Error(`ListSnapshots found ${all.ids.length} snapshots after making ${count}`);
    }
    return Date.now() - started;
  }

  /**
   * The emulator caches its subvolume table and re-reads it only after a while (it patches the
   * cache for changes made through itself): tell it to read it again now, and check it sees every
   * snapshot made behind its back.
   */
  private async awaitEmulatorSees(count: number): Promise<void> {
    await this.stack.control.refresh();
    const until = Date.now() + 120_000;
    const query = '/disk/btrfs/subvolume print count-only where fullname~"^rds-csi/snaps/"';
    for (;;) {
      const seen = Number((await this.stack.control.exec(query)).trim());
      if (seen >= count) return;
      if (Date.now() > until)
        throw new Error(`the emulator lists ${seen} snapshot subvolumes, expected ${count}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /**
   * CreateSnapshot then DeleteSnapshot, `runs` times, over the suite's volumes with the snapshots
   * made so far present (none before the first `populate`). The pool is settled first, so a count
   * is not charged for Btrfs still finishing the work of making it: the scale target compares this
   * with none present against this with 10 000, on the same volumes, taken the same way.
   */
  async snapshotOps(runs: number): Promise<SnapshotOpsSamples> {
    const { stack } = this;
    const out: SnapshotOpsSamples = { snapshots: this.made, createSnapshot: [], deleteSnapshot: [] };
    await this.settle();
    for (let i = 0; i < runs; i++) {
      let id = "";
      const name = `bench-list-extra-${this.made}-${i}`;
      out.createSnapshot.push(
        await measureCall(stack, async () => {
          id = await createSnapshot(stack.csi, name, this.volumes[i % VOLUMES]!);
        }),
      );
      out.deleteSnapshot.push(await measureCall(stack, () => deleteSnapshot(stack.csi, id)));
    }
    return out;
  }

  /**
   * Lets the pool finish what earlier work left running: a commit of anything not yet on disk, and
   * the cleaning of deleted subvolumes (Btrfs drops them in the background after the delete returns).
   */
  private async settle(): Promise<void> {
    await runShell(
      'btrfs filesystem sync "$1" > /dev/null && btrfs subvolume sync "$1" > /dev/null',
      this.stack.poolMountPath,
    );
  }

  async measure(runs: ListingStep, populateMs: number): Promise<ListingSamples> {
    const { stack } = this;
    const { csi } = stack;
    const out: ListingSamples = {
      snapshots: this.made,
      populateMs,
      firstPage: [],
      walk: [],
      oneCall: [],
      pageReplay: [],
    };
    for (let i = 0; i < runs.firstPage; i++) {
      out.firstPage.push(await measureCall(stack, () => listSnapshots(csi, PAGE_SIZE)));
    }
    const lastPage = out.firstPage[out.firstPage.length - 1];
    if (lastPage) {
      const reads = lastPage.lines.filter((l) => l.startsWith(":put"));
      out.pageReplay = await replayReads(stack, reads, PAGE_REPLAYS);
    }
    for (let i = 0; i < runs.oneCall; i++) {
      out.oneCall.push(await measureCall(stack, () => listSnapshots(csi, 0)));
    }
    const pages = Math.ceil(this.made / PAGE_SIZE);
    const expectedWalkMs = pages * median(out.firstPage.map((s) => s.ms));
    for (let i = 0; i < runs.walk; i++) {
      out.walk.push(
        expectedWalkMs <= runs.walkBudgetMs ? await this.walk() : await this.sampledWalk(SAMPLED_PAGES),
      );
    }
    return out;
  }

  private async walk(): Promise<WalkSample> {
    const { stack } = this;
    const sample: WalkSample = { ms: 0, pages: 0, roundTrips: 0, pageMs: [] };
    let token = "";
    let seen = 0;
    // Round trips counted by the driver's own log over the whole walk: a read started in the
    // background may end after the page that sent it was counted.
    const logMark = stack.driverLog.length;
    do {
      let page = { ids: [] as string[], nextToken: "" };
      const call = await measureCall(stack, async () => {
        page = await listSnapshots(stack.csi, PAGE_SIZE, token);
      });
      sample.pages++;
      sample.pageMs.push(call.ms);
      sample.ms += call.ms;
      seen += page.ids.length;
      token = page.nextToken;
    } while (token !== "");
    sample.roundTrips = stack.driverLog
      .slice(logMark)
      .filter((e) => e.msg === "RouterOS command" && e.command !== KEEPALIVE).length;
    if (seen !== this.made) throw new Error(`the walk returned ${seen} snapshots, expected ${this.made}`);
    return sample;
  }

  /**
   * A walk too long for the time budget is estimated from `count` pages spread from its start to its
   * end. Each sampled page reads its own slice (nothing the walk read ahead is kept for it), so the
   * estimate is an upper bound.
   */
  private async sampledWalk(count: number): Promise<WalkSample> {
    const { stack } = this;
    const ids = (await listSnapshots(stack.csi, 0)).ids;
    const pages = Math.ceil(ids.length / PAGE_SIZE);
    const sample: WalkSample = { ms: 0, pages, roundTrips: 0, pageMs: [], sampledPages: count };
    const roundTrips: number[] = [];
    for (let i = 0; i < count; i++) {
      const page = Math.floor((i * (pages - 1)) / Math.max(1, count - 1));
      const token = page === 0 ? "" : encodeListToken(ids[page * PAGE_SIZE - 1]!);
      const call = await measureCall(stack, () => listSnapshots(stack.csi, PAGE_SIZE, token));
      sample.pageMs.push(call.ms);
      roundTrips.push(call.roundTrips);
    }
    sample.ms = pages * median(sample.pageMs);
    sample.roundTrips = pages * median(roundTrips);
    return sample;
  }
}

function runShell(script: string, arg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script, "sh", arg], { stdio: ["ignore", "ignore", "pipe"] });
    const err: Buffer[] = [];
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${script} exited ${code}: ${Buffer.concat(err).toString("utf8").slice(-500)}`)),
    );
  });
}
