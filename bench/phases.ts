import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BenchStack } from "./lib/bench-stack.js";
import { createSnapshot, createVolume, deleteSnapshot, deleteVolume } from "./lib/csi-ops.js";
import { measureCall } from "./lib/measure.js";
import type { Plan } from "./lib/plan.js";
import { summarizeProfile } from "./lib/profile-summary.js";
import {
  type BenchData,
  type Figure,
  figure,
  type PhaseRecord,
  type ProfilesByPhase,
} from "./lib/results.js";
import { median, type Summary, summarize } from "./lib/stats.js";
import { measureBtrfs } from "./suites/btrfs-reference.js";
import { CALLS, ConcurrencySuite, VOLUMES } from "./suites/concurrency.js";
import { measureFloor, measureTransportReference, replayReads } from "./suites/floor.js";
import { ListingSuite, PAGE_SIZE } from "./suites/listing.js";
import { measureSnapshotOps, OPERATIONS, VOLUME_SIZES } from "./suites/snapshot-ops.js";

const round = (v: number) => Math.round(v * 100) / 100;
const keep = (s: Summary): Summary =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v)])) as unknown as Summary;

/** Ids in command lines replaced by placeholders, so the same command of different runs groups. */
function commandShape(line: string): string {
  return line
    .replace(/pvc-[0-9a-f-]{36}/g, "<volume>")
    .replace(/snap-[0-9a-f-]{36}/g, "<snapshot>")
    .replace(/:put \[:serialize to=json \[(.*) print detail as-value where (.*)\]\]$/, "LIST $1 where $2");
}

export async function runPhases(stack: BenchStack, plan: Plan, progress: (line: string) => void) {
  const figures: Figure[] = [];
  const phases: PhaseRecord[] = [];
  const data: BenchData = {
    setup: {
      poolSize: plan.poolSize,
      volumeSizes: VOLUME_SIZES.map((s) => s.label),
      snapshotCounts: plan.listing.map((l) => l.snapshots),
      pageSize: PAGE_SIZE,
      concurrentCalls: CALLS,
      concurrencyVolumes: VOLUMES,
    },
    build: stack.build,
    floor: { rdsConnectionMs: 0, emulatorOnlyMs: 0, transportMs: 0, readTransportMs: 0 },
    figures,
    transport: [],
    replay: [],
    breakdown: [],
    commands: {},
    listing: [],
    concurrency: [],
    phases,
  };

  /** Runs one phase with its own CPU profile and CPU/memory accounting. */
  const phase = async (name: string, work: () => Promise<void>) => {
    progress(`${name} …`);
    await stack.cutProfiles();
    const driverBefore = stack.sample(stack.driverPid);
    const simBefore = stack.sample(stack.simPid);
    const clientBefore = process.cpuUsage();
    const started = Date.now();
    await work();
    const wallMs = Date.now() - started;
    const client = process.cpuUsage(clientBefore);
    const profileIndex = await stack.cutProfiles();
    const driver = stack.sample(stack.driverPid);
    const sim = stack.sample(stack.simPid);
    phases.push({
      name,
      wallMs,
      driverCpuMs: driver.cpuMs - driverBefore.cpuMs,
      emulatorCpuMs: sim.cpuMs - simBefore.cpuMs,
      btrfsCpuMs: sim.childrenCpuMs - simBefore.childrenCpuMs,
      clientCpuMs: (client.user + client.system) / 1000,
      driverRssKiB: driver.rssKiB,
      driverPeakRssKiB: driver.hwmKiB,
      emulatorRssKiB: sim.rssKiB,
      ...(profileIndex !== undefined ? { profileIndex } : {}),
    });
    progress(`${name}: ${(wallMs / 1000).toFixed(1)} s`);
  };

  const idle = stack.sample(stack.driverPid);
  figures.push(
    figure("memory.driverRss.start", "controller RSS after start-up, idle", "MiB", [idle.rssKiB / 1024]),
  );

  let floorMs = 0;
  await phase("SSH floor", async () => {
    const floor = await measureFloor(stack, plan.floorRuns);
    floorMs = median(floor.rdsConnection);
    data.floor = {
      rdsConnectionMs: round(floorMs),
      emulatorOnlyMs: round(median(floor.emulatorOnly)),
      transportMs: round(floorMs - median(floor.emulatorOnly)),
      readTransportMs: 0,
    };
    figures.push(
      figure(
        "floor.rdsConnection",
        "RdsConnection.exec — the driver's path (the floor)",
        "ms",
        floor.rdsConnection,
      ),
      figure("floor.bareSsh2", "bare ssh2 client exec", "ms", floor.bareSsh2),
      figure("floor.emulatorOnly", "inside the emulator, no SSH (control socket)", "ms", floor.emulatorOnly),
    );
    for (const t of await measureTransportReference(plan.transportRuns)) {
      data.transport.push({ ...t, summary: keep(summarize(t.samples)), samples: t.samples.map(round) });
    }
    // The read commands one CreateSnapshot sends, replayed over SSH and inside the emulator.
    const volumeId = await createVolume(stack.csi, "bench-replay-volume", 1n << 30n);
    let snapshotId = "";
    const created = await measureCall(stack, async () => {
      snapshotId = await createSnapshot(stack.csi, "bench-replay-snapshot", volumeId);
    });
    const reads = created.lines.filter((l) => l.startsWith(":put"));
    for (const r of await replayReads(stack, reads, plan.replayRuns)) {
      data.replay.push({
        line: commandShape(r.line),
        replyBytes: r.replyBytes,
        overSsh: keep(summarize(r.overSsh)),
        emulatorOnly: keep(summarize(r.emulatorOnly)),
      });
    }
    data.floor.readTransportMs = round(
      median(data.replay.map((c) => c.overSsh.median - c.emulatorOnly.median)),
    );
    const btrfs = await measureBtrfs(
      stack.poolMountPath,
      join(stack.poolMountPath, "rds-csi", "vols", volumeId),
      plan.btrfsRuns,
    );
    figures.push(
      figure("btrfs.snapshot", "`btrfs subvolume snapshot -r` (process + commit)", "ms", btrfs.snapshot),
      figure("btrfs.delete", "`btrfs subvolume delete`", "ms", btrfs.delete),
      figure(
        "btrfs.list",
        "`btrfs subvolume list` (the emulator runs 3 after each change)",
        "ms",
        btrfs.list,
      ),
      figure("btrfs.spawnOnly", "starting a process that does nothing (`true`)", "ms", btrfs.spawnOnly),
    );
    await deleteSnapshot(stack.csi, snapshotId);
    await deleteVolume(stack.csi, volumeId);
  });

  await phase("snapshot operations by volume size", async () => {
    const samples = await measureSnapshotOps(stack, plan.sizeRounds, progress);
    const createMedians: number[] = [];
    for (const size of VOLUME_SIZES) {
      for (const op of OPERATIONS) {
        const runs = samples[size.label]![op];
        const key = `ops.${op}.${size.label}`;
        const isCreate = op === "CreateSnapshot";
        const isSnapshotOp = isCreate || op === "DeleteSnapshot";
        figures.push(
          figure(
            `${key}.latency`,
            `${op}, ${size.label}`,
            "ms",
            runs.map((r) => r.ms),
            isCreate
              ? { text: `≤ 1.5 × floor (${(1.5 * floorMs).toFixed(1)} ms)`, limit: 1.5 * floorMs }
              : undefined,
          ),
          figure(
            `${key}.roundTrips`,
            `${op}, ${size.label}: round trips`,
            "round trips",
            runs.map((r) => r.roundTrips),
            isSnapshotOp ? { text: "≤ 2", limit: 2 } : undefined,
          ),
        );
        data.breakdown.push({
          operation: op,
          size: size.label,
          totalMs: round(median(runs.map((r) => r.ms))),
          handlerMs: round(median(runs.map((r) => r.handlerMs))),
          commandMs: round(median(runs.map((r) => r.commandMs))),
          roundTrips: median(runs.map((r) => r.roundTrips)),
        });
        if (isCreate) createMedians.push(median(runs.map((r) => r.ms)));
      }
    }
    // "Flat across sizes": the slowest size's median over the fastest's.
    figures.push(
      figure(
        "ops.CreateSnapshot.flatness",
        `CreateSnapshot: slowest size median ÷ fastest (${VOLUME_SIZES.map((s) => s.label).join(", ")})`,
        "ratio",
        [Math.max(...createMedians) / Math.min(...createMedians)],
        { text: "≤ 1.20 (flat)", limit: 1.2 },
      ),
    );
    for (const op of OPERATIONS) {
      const runs = samples[VOLUME_SIZES[0]!.label]![op];
      const positions = runs[0]?.commands.length ?? 0;
      data.commands[op] = [];
      for (let i = 0; i < positions; i++) {
        const at = runs.map((r) => r.commands[i]).filter((c) => c !== undefined);
        data.commands[op].push({
          command: commandShape(at[0]!.line),
          medianMs: round(median(at.map((c) => c.ms))),
        });
      }
    }
  });

  await phase("concurrent CreateSnapshot", async () => {
    const suite = new ConcurrencySuite(stack);
    await suite.prepare();
    for (let round = 0; round < plan.concurrencyRounds; round++) {
      for (const mix of ["distinct", "pairs"] as const) data.concurrency.push(await suite.run(mix, round));
      progress(`round ${round + 1}/${plan.concurrencyRounds}`);
    }
    await suite.finish();
    for (const mix of ["distinct", "pairs"] as const) {
      const runs = data.concurrency.filter((r) => r.mix === mix);
      const label = mix === "distinct" ? "100 distinct names" : "50 names, each sent twice at once";
      figures.push(
        figure(
          `concurrency.${mix}.total`,
          `${label}: total time`,
          "ms",
          runs.map((r) => r.totalMs),
        ),
        figure(
          `concurrency.${mix}.latency`,
          `${label}: per-call latency`,
          "ms",
          runs.flatMap((r) => r.latencies),
        ),
        figure(
          `concurrency.${mix}.unexpected`,
          `${label}: errors other than ABORTED on a repeated name`,
          "errors",
          runs.map((r) => r.unexpected),
          { text: "0", limit: 0 },
        ),
        figure(
          `concurrency.${mix}.aborted`,
          `${label}: ABORTED`,
          "calls",
          runs.map((r) => r.aborted),
        ),
      );
    }
  });

  const listing = new ListingSuite(stack);
  await listing.prepare();
  const largest = Math.max(...plan.listing.map((l) => l.snapshots));
  for (const step of plan.listing) {
    const count = step.snapshots;
    let populateMs = 0;
    await phase(`make ${count} snapshots directly`, async () => {
      populateMs = await listing.populate(count);
    });
    await phase(`ListSnapshots with ${count} snapshots`, async () => {
      const r = await listing.measure(step, populateMs);
      const key = `list.${count}`;
      const isTarget = count === largest;
      const walk = r.walk[0];
      data.listing.push({
        snapshots: count,
        populateMs,
        walkPages: walk?.pages ?? 0,
        ...(walk?.sampledPages !== undefined ? { walkSampledPages: walk.sampledPages } : {}),
      });
      figures.push(
        figure(
          `${key}.firstPage`,
          `ListSnapshots, ${count} snapshots: first page of ${PAGE_SIZE}`,
          "ms",
          r.firstPage.map((s) => s.ms),
          isTarget ? { text: "< 100 ms", limit: 100 } : undefined,
        ),
        figure(
          `${key}.firstPage.roundTrips`,
          `ListSnapshots, ${count} snapshots: first page, round trips`,
          "round trips",
          r.firstPage.map((s) => s.roundTrips),
          { text: "≤ 2", limit: 2 },
        ),
        figure(
          `${key}.walk`,
          `ListSnapshots, ${count} snapshots: full walk, pages of ${PAGE_SIZE}${walk?.sampledPages ? " (estimated from sampled pages)" : ""}`,
          "ms",
          r.walk.map((w) => w.ms),
          isTarget ? { text: "< 1 s", limit: 1000 } : undefined,
        ),
        figure(
          `${key}.walk.roundTrips`,
          `ListSnapshots, ${count} snapshots: full walk, round trips`,
          "round trips",
          r.walk.map((w) => w.roundTrips),
        ),
        figure(
          `${key}.walk.page`,
          `ListSnapshots, ${count} snapshots: one page of the walk`,
          "ms",
          r.walk.flatMap((w) => w.pageMs),
        ),
        figure(
          `${key}.oneCall`,
          `ListSnapshots, ${count} snapshots: all in one call (max_entries 0)`,
          "ms",
          r.oneCall.map((s) => s.ms),
        ),
        figure(
          `${key}.createSnapshot`,
          `CreateSnapshot with ${count} snapshots present`,
          "ms",
          r.createSnapshot.map((s) => s.ms),
        ),
        figure(
          `${key}.deleteSnapshot`,
          `DeleteSnapshot with ${count} snapshots present`,
          "ms",
          r.deleteSnapshot.map((s) => s.ms),
        ),
      );
    });
  }

  const end = stack.sample(stack.driverPid);
  figures.push(
    figure("memory.driverRss.end", "controller RSS after all runs", "MiB", [end.rssKiB / 1024]),
    figure("memory.driverRss.peak", "controller peak RSS (VmHWM)", "MiB", [end.hwmKiB / 1024]),
  );
  progress(
    `done; controller RSS ${(end.rssKiB / 1024).toFixed(0)} MiB (peak ${(end.hwmKiB / 1024).toFixed(0)} MiB)`,
  );

  return {
    data,
    /** Summaries of each phase's CPU profile of the driver and the emulator. */
    summarizeProfiles(dir: string): ProfilesByPhase {
      const out: ProfilesByPhase = {};
      for (const p of phases) {
        if (p.profileIndex === undefined) continue;
        const file = (pid: number) => join(dir, `${pid}.${p.profileIndex}.cpuprofile`);
        const driver = file(stack.driverPid);
        const emulator = file(stack.simPid);
        out[p.name] = {
          ...(existsSync(driver) ? { driver: summarizeProfile(driver) } : {}),
          ...(existsSync(emulator) ? { emulator: summarizeProfile(emulator) } : {}),
        };
      }
      return out;
    },
  };
}
