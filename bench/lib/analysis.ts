import type { ProfileSummary } from "./profile-summary.js";
import { type BenchResults, type CommandTime, type Figure, formatValue } from "./results.js";

/**
 * The "misses" section: for every target missed, by how much, what dominates (from the breakdowns,
 * the replayed commands, the transport reference and the profiles of the same run), and what
 * would close it. Everything said is read from the figures, so it stays true as the driver and
 * the emulator change.
 */

const ms = (v: number | undefined) => (v === undefined ? "—" : formatValue(v, "ms"));
const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 100) : 0}%`;
/** A share that matters enough to be named as a cause. */
const SIGNIFICANT = 0.2;

function medianOf(r: BenchResults, id: string): number | undefined {
  return r.figures.find((f) => f.id === id)?.summary.median;
}

function missed(r: BenchResults, pattern: RegExp): Figure[] {
  return r.figures.filter((f) => pattern.test(f.id) && f.verdict && !f.verdict.met);
}

function transportOf(r: BenchResults, client: boolean, server: boolean): number | undefined {
  return r.transport.find((t) => t.clientNoDelay === client && t.serverNoDelay === server)?.summary.median;
}

function topFunctions(p: ProfileSummary | undefined, n: number): string {
  if (!p) return "no profile";
  return p.topFunctions
    .slice(0, n)
    .map((f) => `\`${f.name}\` ${Math.round(f.share * 100)}%`)
    .join(", ");
}

function shorten(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function commandList(commands: readonly CommandTime[]): string {
  return commands.map((c, i) => `exec ${i + 1} ${ms(c.medianMs)} (\`${shorten(c.command)}\`)`).join(", ");
}

function createSnapshotLatency(r: BenchResults): string[] {
  const misses = missed(r, /^ops\.CreateSnapshot\..*\.latency$/);
  if (misses.length === 0) return [];
  const size = r.setup.volumeSizes[0]!;
  const b = r.breakdown.find((x) => x.operation === "CreateSnapshot" && x.size === size);
  if (!b) return [];
  const perTrip = r.floor.readTransportMs;
  const transport = b.roundTrips * perTrip;
  const emulator = Math.max(0, b.commandMs - transport);
  const driver = Math.max(0, b.totalMs - b.commandMs);
  const nagle = transportOf(r, false, false);
  const oneEnd = transportOf(r, true, false);
  const noDelay = transportOf(r, true, true);
  const snapshot = medianOf(r, "btrfs.snapshot");
  const spawnOnly = medianOf(r, "btrfs.spawnOnly");
  const slowest = [...(r.commands.CreateSnapshot ?? [])].sort((a, b2) => b2.medianMs - a.medianMs)[0];
  const profile = r.profiles["snapshot operations by volume size"];
  const limit = 1.5 * r.floor.rdsConnectionMs;
  const out = [
    `- **CreateSnapshot latency** — ${misses.map((f) => `${f.label.replace("CreateSnapshot, ", "")} ${f.verdict!.text}`).join("; ")}. The floor is ${ms(r.floor.rdsConnectionMs)}: ${ms(r.floor.emulatorOnlyMs)} of emulator work and ${ms(r.floor.transportMs)} of transport.`,
    `  - *What dominates* (${size}, median ${ms(b.totalMs)}, ${b.roundTrips} round trips): the emulator's work ${ms(emulator)} (${pct(emulator, b.totalMs)}); the transport ${b.roundTrips} × ${ms(perTrip)} = ${ms(transport)} (${pct(transport, b.totalMs)}); the driver and gRPC ${ms(driver)} (${pct(driver, b.totalMs)}). The slowest exec is ${slowest ? `\`${shorten(slowest.command)}\` at ${ms(slowest.medianMs)}` : "—"}; \`btrfs subvolume snapshot -r\` run directly takes ${ms(snapshot)} on this pool (starting any process takes ${ms(spawnOnly)} on this loaded machine; the rest is the Btrfs transaction commit through the loop device). The emulator's CPU in this phase: ${topFunctions(profile?.emulator, 3)}; the driver's: ${topFunctions(profile?.driver, 3)}.`,
  ];
  if (transport >= SIGNIFICANT * b.totalMs) {
    out.push(
      `  - *The transport is waiting, not work:* a bare ssh2 exec that answers at once takes ${ms(nagle)} with TCP_NODELAY off at both ends, ${ms(oneEnd)} with it on at one end, ${ms(noDelay)} with it on at both — Nagle's algorithm holding each small SSH message until the peer's delayed ACK (up to 40 ms on Linux). TCP_NODELAY on both ends (the driver's ssh2 client in src/rds, the emulator's server in src/sim) removes it; on hardware RouterOS decides its end.`,
    );
  }
  out.push(
    `  - *What would close it:* the target is relative to the floor: 1.5 × ${ms(r.floor.rdsConnectionMs)} = ${ms(limit)}, ${snapshot !== undefined && snapshot > limit ? `less than one Btrfs snapshot takes by itself here (${ms(snapshot)})` : `leaving ${ms(limit - (snapshot ?? 0))} beyond one Btrfs snapshot (${ms(snapshot)})`}. A CreateSnapshot cannot be faster than the commit it waits for, so against this emulator the target is out of reach once the floor is a fast local round trip; what remains to win is ${emulator >= SIGNIFICANT * b.totalMs ? `the emulator's own overhead around the commit (process starts: \`spawn\` leads its profile when it does)` : "little beyond the commit"}${driver >= SIGNIFICANT * b.totalMs ? " and the driver's share" : ""}. Against an RDS over a network the target needs one round trip and a commit shorter than half the network round trip; the absolute latency is the figure to track.`,
  );
  return out;
}

function flatness(r: BenchResults): string[] {
  const f = missed(r, /^ops\.CreateSnapshot\.flatness$/)[0];
  if (!f) return [];
  const figs = r.figures.filter((x) => /^ops\.CreateSnapshot\..*\.latency$/.test(x.id));
  const overlap = figs.every((a) =>
    figs.every((b) => a.summary.p10 <= b.summary.p90 && b.summary.p10 <= a.summary.p90),
  );
  return [
    `- **CreateSnapshot flat across sizes** — slowest over fastest median ${formatValue(f.summary.median, "ratio")}, ${f.verdict!.text}: ${figs.map((x) => `${x.label.replace("CreateSnapshot, ", "")} ${ms(x.summary.median)}`).join(", ")}. ${overlap ? "The p10–p90 ranges of all sizes overlap: the difference is noise on this shared machine (a Btrfs snapshot does not read the volume's data, whatever its size); more rounds on a quiet machine would settle it." : "The ranges do not overlap; the breakdown table shows which part grows with size."}`,
  ];
}

function roundTrips(r: BenchResults): string[] {
  const misses = missed(r, /^ops\.(CreateSnapshot|DeleteSnapshot)\..*\.roundTrips$/);
  if (misses.length === 0) return [];
  const byOp = new Map<string, Figure>();
  for (const f of misses) byOp.set(f.id.split(".")[1]!, f);
  const out = ["- **Round trips per snapshot operation** (target ≤ 2):"];
  for (const [op, f] of byOp) {
    out.push(
      `  - ${op}: ${formatValue(f.summary.median, "round trips")}, ${f.verdict!.text}. Sent: ${commandList(r.commands[op] ?? [])}.`,
    );
  }
  out.push(
    "  - *What would close it:* RouterOS runs the `;`-separated commands of one exec line in order, so the reads can travel together and a change with its read-backs together — 2 round trips, still stateless.",
  );
  return out;
}

function listing(r: BenchResults): string[] {
  const count = Math.max(...r.setup.snapshotCounts);
  const misses = missed(r, new RegExp(`^list\\.${count}\\.(firstPage|walk)$`));
  if (misses.length === 0) return [];
  const record = r.listing.find((l) => l.snapshots === count);
  const first = medianOf(r, `list.${count}.firstPage`) ?? 0;
  const walk = medianOf(r, `list.${count}.walk`);
  const commands = record?.firstPageCommands ?? [];
  const overSsh = commands.reduce((s, c) => s + c.overSshMs, 0);
  const inside = commands.reduce((s, c) => s + c.emulatorOnlyMs, 0);
  const driver = Math.max(0, first - overSsh);
  const phase = r.phases.find((p) => p.name === `ListSnapshots with ${count} snapshots`);
  const profile = r.profiles[`ListSnapshots with ${count} snapshots`];
  const pageBudget = record && record.walkPages > 0 ? 1000 / record.walkPages : undefined;
  const emulatorLeads = commands.length > 0 && inside >= driver;
  return [
    `- **ListSnapshots with ${count} snapshots** — ${misses.map((f) => `${f.label.replace(`ListSnapshots, ${count} snapshots: `, "")}: ${ms(f.summary.median)}, ${f.verdict!.text}`).join("; ")}.`,
    `  - *What dominates the first page* (${ms(first)}): ${commands.length === 0 ? "its execs were not replayed." : `its ${commands.length} exec(s) take ${ms(overSsh)} over SSH, ${ms(inside)} of it inside the emulator (${pct(inside, first)}) — ${commands.map((c) => `\`${shorten(c.command, 120)}\`: ${ms(c.emulatorOnlyMs)} in the emulator, ${c.replyBytes} bytes`).join("; ")}; the driver and gRPC take the remaining ${ms(driver)} (${pct(driver, first)}).`}${phase ? ` Over the phase (${(phase.wallMs / 1000).toFixed(0)} s) the emulator used ${(phase.emulatorCpuMs / 1000).toFixed(0)} s of CPU and the driver ${(phase.driverCpuMs / 1000).toFixed(0)} s.` : ""} Profiles: emulator ${topFunctions(profile?.emulator, 3)}; driver ${topFunctions(profile?.driver, 3)}.`,
    `  - *The walk* (${ms(walk)} for ${record?.walkPages ?? "?"} pages): a first page is one exec line: the count of the walk and the slice of the id space that should hold a page (a \`where name~\` range over the snapshot ids), with its images by a \`/file\` path pattern over the slice. The second page reads a slice of about 500 snapshots with their images in one line; from then on, once fewer than 500 are left of what the walk has read, the next such slice is read in the background while pages are delivered, and the pages in between send nothing (${medianOf(r, `list.${count}.walk.roundTrips`) ?? "?"} round trips for the whole walk). The emulator answers a slice from its in-memory subvolume index (a few binary searches over the range's prefixes) and the images by walking only the folders the pattern allows; what the same \`where\` costs RouterOS over its item table is unknown until measured there.`,
    `  - *What would close it:* ${emulatorLeads ? `first the emulator's cost of answering a query over ${count} snapshots (${ms(inside)} for the first page's lines; its profile names where), which stands in for RouterOS's — unknown until measured on hardware;` : `first the driver's handling of the replies (${ms(driver)} per page; its profile names where);`} the walk under 1 s needs ${pageBudget !== undefined ? `each of its ${record?.walkPages} pages within ${ms(pageBudget)}` : "pages of a few milliseconds"}, about one exec of the floor each.`,
  ];
}

function concurrency(r: BenchResults): string[] {
  const misses = missed(r, /^concurrency\..*\.unexpected$/);
  if (misses.length === 0) return [];
  const messages = [...new Set(r.concurrency.flatMap((c) => c.messages))].slice(0, 3);
  const failedAfter = r.concurrency.flatMap((c) => c.failedLatencies ?? []);
  const total = medianOf(r, "concurrency.distinct.total");
  const latency = r.figures.find((f) => f.id === "concurrency.distinct.latency")?.summary;
  const together = latency !== undefined && total !== undefined && latency.p10 > 0.6 * total;
  const unknownOutcome = messages.some((m) => m.includes("may or may not have run"));
  return [
    `- **Errors under concurrency** — ${misses.map((f) => `${f.label}: ${formatValue(f.summary.median, "errors")} per round (max ${f.summary.max})`).join("; ")}. Messages: ${messages.map((m) => `“${shorten(m, 200)}”`).join("; ")}.`,
    `  - *What dominates:* the failed calls ended after ${ms(Math.min(...failedAfter))}–${ms(Math.max(...failedAfter))}; a batch of 100 took ${ms(total)} in all${together ? `, and the calls finish together (per-call latency p10 ${ms(latency?.p10)}, median ${ms(latency?.median)}): the driver's channels are handed out per exec, first come first served, so every call's execs queue behind everyone else's` : ""}. The wait for a channel counts against each command's timeout (\`--rds-command-timeout\`, 30 s by default).${unknownOutcome ? " A command that gets its channel with almost no time left is still sent, and its outcome is then unknown (UNAVAILABLE, and a snapshot that may appear later)." : ""}`,
    `  - *What would close it:* keep calls from waiting behind each other${together ? " — a call keeps its channel for all its execs, or later calls wait their turn before starting rather than between execs" : ""}${unknownOutcome ? "; do not send a change with too little time left to hear its answer (fail as not sent instead)" : ""}; more channels (\`--rds-max-channels\`, RouterOS allows 20 sessions) and fewer, cheaper execs per call shorten the batch.`,
  ];
}

export function analyseMisses(r: BenchResults): string {
  const parts = [
    ...createSnapshotLatency(r),
    ...flatness(r),
    ...roundTrips(r),
    ...listing(r),
    ...concurrency(r),
  ];
  return [
    "## Misses: by how much, what dominates, what would close them",
    "",
    parts.length ? parts.join("\n") : "Every target was met.",
  ].join("\n");
}

/**
 * What the figures show beyond the issue's targets: snapshot operations against the number of
 * snapshots already there, and the controller's memory against the limit the Helm chart gives it.
 */
export function beyondTargets(r: BenchResults): string {
  const lines: string[] = [];
  // With none present: on the listing volumes, taken as with many (older results: the size phase's).
  const sameWay = medianOf(r, "list.none.createSnapshot") !== undefined;
  const base = sameWay
    ? medianOf(r, "list.none.createSnapshot")
    : medianOf(r, `ops.CreateSnapshot.${r.setup.volumeSizes[0]}.latency`);
  const baseDelete = sameWay
    ? medianOf(r, "list.none.deleteSnapshot")
    : medianOf(r, `ops.DeleteSnapshot.${r.setup.volumeSizes[0]}.latency`);
  const largest = r.listing[r.listing.length - 1];
  const byCount = r.setup.snapshotCounts.map((n) => ({
    n,
    create: medianOf(r, `list.${n}.createSnapshot`),
    remove: medianOf(r, `list.${n}.deleteSnapshot`),
  }));
  if (base !== undefined && byCount.some((x) => x.create !== undefined)) {
    // Growth: the most snapshots' median over the median with none, past the 1.5× the scale target allows.
    const most = byCount[byCount.length - 1];
    const grows = [
      [most?.create, base],
      [most?.remove, baseDelete],
    ].some(([many, none]) => many !== undefined && none !== undefined && many > 1.5 * none);
    lines.push(
      `- **Snapshot operations ${grows ? "grow with the snapshots already on the RDS, past the 1.5× the scale target allows, not with volume size" : "stay within 1.5× of their cost with none as snapshots are added, and do not grow with volume size"}:** CreateSnapshot ${ms(base)} with no other snapshots${sameWay ? " (the same volumes, taken the same way)" : " (from the volume-size phase: other volumes)"}, ${byCount.map((x) => `${ms(x.create)} with ${x.n}`).join(", ")}; DeleteSnapshot ${ms(baseDelete)}, ${byCount.map((x) => `${ms(x.remove)}`).join(", ")}. ${largest?.createSnapshotCommands?.length ? `With ${largest.snapshots} present, CreateSnapshot's execs take ${commandList(largest.createSnapshotCommands)}; DeleteSnapshot's ${commandList(largest.deleteSnapshotCommands ?? [])}. ` : ""}A snapshot id does not name its volume, so finding one is a \`where\` over the whole subvolume table: the emulator answers it from an in-memory index by name; what it costs RouterOS is unknown until measured there.`,
    );
  }
  const peak = medianOf(r, "memory.driverRss.peak");
  const end = medianOf(r, "memory.driverRss.end");
  const limit = r.chartMemoryLimitMiB;
  if (peak !== undefined && limit !== undefined) {
    const over = peak > limit;
    lines.push(
      `- **Controller memory:** ${Math.round(end ?? 0)} MiB resident after all runs, peak ${Math.round(peak)} MiB (reached while listing ${Math.max(...r.setup.snapshotCounts)} snapshots). The Helm chart limits the controller container to ${Math.round(limit)} MiB (charts/rds-csi/values.yaml)${over ? ` — the peak here is ${(peak / limit).toFixed(1)}× that, so a controller doing this would be killed for memory; the listings' replies and records are what grows. This process also serves the Node service and logs at debug level, so the controller alone is somewhat smaller.` : "; the peak stays under it."}`,
    );
  }
  if (lines.length === 0) return "";
  return ["## Beyond the targets", "", ...lines].join("\n");
}
