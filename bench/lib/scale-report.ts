import type { BenchResults, Figure, Target } from "./results.js";
import { formatValue, verdictFor } from "./results.js";

/**
 * The scale targets (10 000 snapshots cost what 10 cost, in time and memory), computed from the
 * figures of a run when the report is rendered, and the round trips of each operation beside the
 * other CSI driver for the same hardware (measured against the same emulator).
 */

/** Round trips of the other driver for the same hardware, per operation. */
const OTHER_DRIVER: ReadonlyArray<{
  operation: string;
  ours: (r: BenchResults) => number | undefined;
  other: number;
}> = [
  { operation: "CreateVolume", ours: (r) => median(r, "ops.CreateVolume.1 GiB.roundTrips"), other: 3 },
  { operation: "CreateSnapshot", ours: (r) => median(r, "ops.CreateSnapshot.1 GiB.roundTrips"), other: 5 },
  { operation: "DeleteSnapshot", ours: (r) => median(r, "ops.DeleteSnapshot.1 GiB.roundTrips"), other: 3 },
  {
    operation: "restore (CreateVolume from a snapshot)",
    ours: (r) => median(r, "ops.restore.1 GiB.roundTrips"),
    other: 5,
  },
  {
    operation: "DeleteVolume",
    ours: (r) => median(r, "ops.DeleteVolume (restored).1 GiB.roundTrips"),
    other: 4,
  },
  {
    operation: "ListSnapshots (first page)",
    ours: (r) => median(r, `list.${largest(r)}.firstPage.roundTrips`),
    other: 1,
  },
];

function median(r: BenchResults, id: string): number | undefined {
  return r.figures.find((f) => f.id === id)?.summary.median;
}

/**
 * An operation's median with no snapshots present: on the listing volumes, taken the same way as
 * with many (`list.none.*`). Results from before that figure existed only have the snapshot-operations
 * phase's (other volumes, with data written, another moment of the run), and the row says so.
 */
function withNone(
  r: BenchResults,
  op: "CreateSnapshot" | "DeleteSnapshot",
): { ms: number; note: string } | undefined {
  const same = median(r, `list.none.${op === "CreateSnapshot" ? "createSnapshot" : "deleteSnapshot"}`);
  if (same !== undefined) return { ms: same, note: "" };
  const other = median(r, `ops.${op}.1 GiB.latency`);
  return other === undefined
    ? undefined
    : { ms: other, note: ", from the snapshot-operations phase: other volumes, not like for like" };
}

function largest(r: BenchResults): number {
  return Math.max(...r.setup.snapshotCounts);
}

const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;

interface Line {
  figure: string;
  value: number | undefined;
  unit: Figure["unit"];
  target: Target;
  /** Said after the verdict when missed: by how much it is, and what dominates. */
  why?: string;
}

function lines(r: BenchResults): Line[] {
  const n = largest(r);
  const out: Line[] = [];
  for (const op of ["CreateSnapshot", "DeleteSnapshot"] as const) {
    const none = withNone(r, op);
    const many = median(r, `list.${n}.${op === "CreateSnapshot" ? "createSnapshot" : "deleteSnapshot"}`);
    if (none === undefined || many === undefined) continue;
    out.push({
      figure: `${op} median with ${n} snapshots present (${formatValue(many, "ms")}) ÷ with none (${formatValue(none.ms, "ms")}${none.note})`,
      value: many / none.ms,
      unit: "ratio",
      target: { text: "≤ 1.5×", limit: 1.5 },
    });
  }
  const first = median(r, `list.${n}.firstPage`);
  if (first !== undefined)
    out.push({
      figure: `ListSnapshots at ${n}: first page`,
      value: first,
      unit: "ms",
      target: { text: "< 100 ms", limit: 100 },
    });
  const walk = median(r, `list.${n}.walk`);
  if (walk !== undefined)
    out.push({
      figure: `ListSnapshots at ${n}: full walk`,
      value: walk,
      unit: "ms",
      target: { text: "< 1 s", limit: 1000 },
    });
  out.push(
    idleLine(r, "controller", "controllerOnly"),
    idleLine(r, "all", "allOnly", "controller and node in one process"),
    {
      figure: "controller peak RSS through the whole benchmark (the benchmark's `rds-csi all`, VmHWM)",
      value: median(r, "memory.driverRss.peak"),
      unit: "MiB",
      target: { text: "< 160 MiB", limit: 160 },
    },
    idleLine(r, "node", "nodeOnly", "node plugin"),
  );
  return out;
}

/**
 * An idle row: the role started alone as shipped, sampled after start-up and after 30 s more of
 * idling (bench/lib/idle-memory.ts). The verdict uses the settled sample, because a pod idles far
 * longer than 30 s and start-up garbage is gone by then; results from before the settled sample
 * existed are judged on the start-up one, and the row says so.
 */
function idleLine(r: BenchResults, role: string, key: string, what = role): Line {
  const start = median(r, `memory.${key}.idle`);
  const settled = median(r, `memory.${key}.settled`);
  const name = `${what} RSS idle (\`rds-csi ${role}\` alone, as shipped)`;
  const target = { text: "< 64 MiB", limit: 64 };
  if (settled === undefined)
    return {
      figure: `${name}, after start-up (no settled sample in this run)`,
      value: start,
      unit: "MiB",
      target,
    };
  return {
    figure: `${name}: ${start === undefined ? "—" : formatValue(start, "MiB")} after start-up, ${formatValue(settled, "MiB")} after 30 s idle; the verdict is on the settled figure (a pod idles far longer than 30 s)`,
    value: settled,
    unit: "MiB",
    target,
  };
}

function targetRows(r: BenchResults): string[] {
  return lines(r).map((l) => {
    if (l.value === undefined) return row([l.figure, "not measured in this run", l.target.text, ""]);
    const v = verdictFor(l.value, l.target, l.unit);
    return row([l.figure, formatValue(l.value, l.unit), l.target.text, `${v.met ? "✅" : "❌"} ${v.text}`]);
  });
}

function emulatorRss(r: BenchResults): string {
  const peak = Math.max(0, ...r.phases.map((p) => p.emulatorRssKiB));
  const last = r.phases.at(-1)?.emulatorRssKiB ?? 0;
  return `Emulator RSS: ${(last / 1024).toFixed(0)} MiB after the last phase, at most ${(peak / 1024).toFixed(0)} MiB after any phase (its command log is bounded: a tail of 20 000 entries, 64 KiB of each reply, 32 MiB in all).`;
}

function costModelText(r: BenchResults): string {
  const c = r.costModel;
  if (!c) return "cost model off (the emulator answers as fast as it can)";
  return `cost model on: ${c.cost_command_latency_ms} ms per command, throttle ${c.cost_throttle_fast_ms} ms per request for a burst of ${c.cost_throttle_burst}, then ${c.cost_throttle_slow_ms} ms each`;
}

/**
 * What dominates the scale targets this run misses, from its own samples: for a snapshot operation,
 * its execs with the snapshots present against with none; for peak memory, the phase that reached it.
 */
function dominating(r: BenchResults): string[] {
  const n = largest(r);
  const record = r.listing.find((l) => l.snapshots === n);
  const out: string[] = [];
  for (const line of lines(r)) {
    if (line.value === undefined || verdictFor(line.value, line.target, line.unit).met) continue;
    const op = line.figure.startsWith("CreateSnapshot")
      ? "CreateSnapshot"
      : line.figure.startsWith("DeleteSnapshot")
        ? "DeleteSnapshot"
        : undefined;
    if (op && record) {
      const many = op === "CreateSnapshot" ? record.createSnapshotCommands : record.deleteSnapshotCommands;
      const baseline = r.listingBaseline;
      const none =
        (baseline &&
          (op === "CreateSnapshot" ? baseline.createSnapshotCommands : baseline.deleteSnapshotCommands)) ??
        r.commands[op] ??
        [];
      const execs = many.map(
        (c, i) =>
          `exec ${i + 1} ${formatValue(c.medianMs, "ms")} (${formatValue(none[i]?.medianMs ?? Number.NaN, "ms")} with none)`,
      );
      out.push(
        `- ${op} with ${n} snapshots: ${execs.join(", ")}; the last exec holds the change (the Btrfs command itself, then the emulator patching its in-memory table) and the reads that follow it in the same line.`,
      );
    }
  }
  const peak = Math.max(0, ...r.phases.map((p) => p.driverPeakRssKiB));
  const at = r.phases.find((p) => p.driverPeakRssKiB === peak);
  if (at && peak / 1024 >= 160) {
    const why = at.name.startsWith("ListSnapshots with")
      ? `, whose ListSnapshots with max_entries 0 answers every snapshot in one message: the reply, the records and the gRPC message are all held at once`
      : at.name.startsWith("make ")
        ? `, which ends with a ListSnapshots of every snapshot in one call (max_entries 0) to check the count: one answer holds every record`
        : "";
    out.push(
      `- Peak memory: reached in the phase "${at.name}" (VmHWM ${(peak / 1024).toFixed(0)} MiB)${why}.`,
    );
  }
  return out.length === 0 ? [] : ["", "What dominates the scale targets missed in this run:", "", ...out];
}

/** The scale targets of one run (and of the run with the other cost-model setting, when given). */
export function scaleSection(r: BenchResults, other?: { results: BenchResults; file: string }): string {
  const head = row(["figure", "value", "target", "verdict"]);
  const rule = row(["---", "---", "---", "---"]);
  const parts = [
    "## Scale targets",
    "",
    `This run: ${costModelText(r)}.`,
    "",
    head,
    rule,
    ...targetRows(r),
    ...dominating(r),
    "",
    emulatorRss(r),
  ];
  if (other) {
    parts.push(
      "",
      `The same targets from [${other.file}](${other.file}) (${other.results.mode} run, ${costModelText(other.results)}, ${other.results.date.slice(0, 16).replace("T", " ")} UTC):`,
      "",
      head,
      rule,
      ...targetRows(other.results),
      "",
      emulatorRss(other.results),
    );
  }
  parts.push(
    "",
    "**Round trips per operation** (exec lines the emulator received during the call, median; the other driver's counts for the same hardware, measured against the same emulator):",
    "",
    row(["operation", "rds-csi", "the other driver", "verdict"]),
    row(["---", "---", "---", "---"]),
    ...OTHER_DRIVER.map((o) => {
      const ours = o.ours(r);
      if (ours === undefined)
        return row([o.operation, "not measured by this benchmark", String(o.other), ""]);
      return row([
        o.operation,
        String(ours),
        String(o.other),
        ours <= o.other ? "✅ at most theirs" : `❌ ${ours - o.other} more`,
      ]);
    }),
  );
  return parts.join("\n");
}
