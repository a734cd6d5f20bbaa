import { status } from "@grpc/grpc-js";
import { isGrpcError } from "../../src/demo/csi-client.js";
import type { BenchStack } from "../lib/bench-stack.js";
import { createSnapshot, createVolume, deleteVolume } from "../lib/csi-ops.js";
import { timeIt } from "../lib/measure.js";

/**
 * Many CreateSnapshot calls at once over a few volumes, as csi-snapshotter sends them when a
 * backup tool snapshots a namespace: total time, per-call latency, and every error by code.
 * Two mixes: all names distinct (no call may fail), and every name sent twice at once (the second
 * of a pair may get ABORTED, "an operation is already running on this id", and nothing else).
 */

export const CALLS = 100;
export const VOLUMES = 10;

export interface ConcurrencyRun {
  mix: "distinct" | "pairs";
  totalMs: number;
  latencies: number[];
  /** gRPC status name → count, for every call that did not succeed. */
  errors: Record<string, number>;
  aborted: number;
  /** Errors other than ABORTED on a name sent twice. */
  unexpected: number;
  /** First few unexpected error messages, for the report. */
  messages: string[];
  /** Latency of each call that failed with something other than ABORTED on a repeated name, ms. */
  failedLatencies: number[];
}

function codeName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}

export class ConcurrencySuite {
  private volumes: string[] = [];

  constructor(private readonly stack: BenchStack) {}

  async prepare(): Promise<void> {
    for (let i = 0; i < VOLUMES; i++) {
      this.volumes.push(await createVolume(this.stack.csi, `bench-concurrency-volume-${i}`, 1n << 30n));
    }
  }

  async run(mix: ConcurrencyRun["mix"], round: number): Promise<ConcurrencyRun> {
    const { csi } = this.stack;
    const calls = Array.from({ length: CALLS }, (_, i) => {
      const nameIndex = mix === "distinct" ? i : Math.floor(i / 2);
      return {
        name: `bench-concurrency-${mix}-${round}-${nameIndex}`,
        volume: this.volumes[nameIndex % VOLUMES]!,
      };
    });
    const result: ConcurrencyRun = {
      mix,
      totalMs: 0,
      latencies: [],
      errors: {},
      aborted: 0,
      unexpected: 0,
      messages: [],
      failedLatencies: [],
    };
    const made = new Set<string>();
    result.totalMs = await timeIt(() =>
      Promise.all(
        calls.map(async ({ name, volume }) => {
          const started = process.hrtime.bigint();
          try {
            made.add(await createSnapshot(csi, name, volume));
          } catch (err) {
            const code = isGrpcError(err) ? codeName(err.code) : "not a gRPC error";
            result.errors[code] = (result.errors[code] ?? 0) + 1;
            if (mix === "pairs" && isGrpcError(err, status.ABORTED)) result.aborted++;
            else {
              result.unexpected++;
              result.failedLatencies.push(Number(process.hrtime.bigint() - started) / 1e6);
              if (result.messages.length < 3) result.messages.push(`${code}: ${(err as Error).message}`);
            }
          } finally {
            result.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          }
        }),
      ),
    );
    const expected = mix === "distinct" ? CALLS : CALLS / 2;
    if (made.size !== expected && result.unexpected === 0) {
      result.unexpected += expected - made.size;
      result.messages.push(`${expected - made.size} snapshots missing after the run`);
    }
    await this.removeSnapshots();
    await this.stack.control.clearCommands();
    return result;
  }

  /**
   * Not measured: puts the volumes back as they were for the next round. Through the emulator (so
   * its view stays right) but not through CSI: 100 DeleteSnapshot calls would take longer than
   * the round itself, and they are measured elsewhere.
   */
  private async removeSnapshots(): Promise<void> {
    const { control } = this.stack;
    // A call that failed with "may or may not have run" can still be running in the emulator.
    const until = Date.now() + 120_000;
    for (const volumeId of this.volumes) {
      const under = `fullname~"^rds-csi/snaps/${volumeId}/"`;
      for (;;) {
        await control.exec(`/disk/btrfs/subvolume remove [find where ${under}]`);
        const left = Number(
          (await control.exec(`/disk/btrfs/subvolume print count-only where ${under}`)).trim(),
        );
        if (left === 0) break;
        if (Date.now() > until) throw new Error(`${left} snapshots of ${volumeId} left after removing them`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async finish(): Promise<void> {
    for (const id of this.volumes) await deleteVolume(this.stack.csi, id);
  }
}
