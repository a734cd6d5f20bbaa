import type { ProfileSummary } from "./profile-summary.js";
import { type BenchResults, type Figure, formatValue } from "./results.js";

/**
 * The "misses" section: for every target missed, by how much, what dominates (from the breakdowns,
 * the transport reference and the profiles of the same run), and what would close it.
 */

const ms = (v: number | undefined) => (v === undefined ? "—" : formatValue(v, "ms"));
const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 100) : 0}%`;

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
  return p
    ? p.topFunctions
        .slice(0, n)
        .map((f) => `\`${f.name}\` ${Math.round(f.share * 100)}%`)
        .join(", ")
    : "no profile";
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
  const noDelay = transportOf(r, true, true);
  const clientOnly = transportOf(r, true, false);
  const snapshot = medianOf(r, "btrfs.snapshot");
  const spawnOnly = medianOf(r, "btrfs.spawnOnly");
  const readsInside = r.replay.map((c) => c.emulatorOnly.median);
  const change = (r.commands.CreateSnapshot ?? []).find((c) => c.command.includes(" add "));
  const emulatorProfile = r.profiles["snapshot operations by volume size"]?.emulator;
  const waiting = noDelay !== undefined && r.floor.transportMs > 10 * noDelay;
  const quickFloor = r.floor.emulatorOnlyMs + (noDelay ?? 0);
  const sizes = misses.map((f) => `${f.label.replace("CreateSnapshot, ", "")} ${f.verdict!.text}`).join("; ");
  return [
    `- **CreateSnapshot latency** — ${sizes}. The floor is ${ms(r.floor.rdsConnectionMs)}: ${ms(r.floor.emulatorOnlyMs)} of emulator work and ${ms(r.floor.transportMs)} of transport.`,
    `  - *What dominates* (${size}, median ${ms(b.totalMs)}): the transport of ${b.roundTrips} round trips × ${ms(perTrip)} = ${ms(transport)} (${pct(transport, b.totalMs)}); the emulator's work ${ms(emulator)} (${pct(emulator, b.totalMs)}); the driver and gRPC ${ms(driver)} (${pct(driver, b.totalMs)}). Each read the driver sends (a JSON listing) costs ${ms(perTrip)} of transport against ${ms(Math.min(...readsInside))}–${ms(Math.max(...readsInside))} of work inside the emulator (section 1).`,
    waiting
      ? `  - *The transport is waiting, not work.* The same exec against a bare ssh2 server that answers at once takes ${ms(nagle)} with TCP_NODELAY off at both ends, ${ms(clientOnly)} with it on at one end only, and ${ms(noDelay)} with it on at both: Nagle's algorithm holds a small write back until the peer acknowledges the previous one, and Linux delays that ACK by up to 40 ms. Every exec is a handful of small messages each way (channel open, exec request, reply, exit status, close), so a round trip waits once per end that still has Nagle on.${perTrip > 1.5 * r.floor.transportMs ? ` The driver's JSON reads wait about twice as long as the floor's \`/system identity print\`.` : ""}`
      : `  - *The transport* (bare ssh2 reference): ${ms(nagle)} with TCP_NODELAY off at both ends, ${ms(noDelay)} with it on at both.`,
    `  - *The emulator's share* is mostly the snapshot command: ${ms(change?.medianMs)} in the driver's view, of which \`btrfs subvolume snapshot -r\` run directly takes ${ms(snapshot)} (a process start alone is ${ms(spawnOnly)} on this loaded machine; the rest is the Btrfs transaction commit through the loop device). The emulator's CPU profile in this phase: ${topFunctions(emulatorProfile, 3)}.`,
    `  - *What would close it:* (1) TCP_NODELAY at both ends of the SSH connection — the driver's ssh2 client (src/rds/ssh-session.ts) and the emulator's ssh2 server connections (src/sim/ssh-server.ts): with it on one end only a round trip still waits once (${ms(clientOnly)} in the reference), with both ${ms(noDelay)} — most of the ${ms(transport)} above. On hardware, RouterOS decides its own end. (2) At most 2 round trips (below). (3) Even then the target is relative to the floor: without the waits the floor is about ${ms(quickFloor)}, and 1.5 × that is far below one Btrfs snapshot commit (${ms(snapshot)} here) — a CreateSnapshot cannot be faster than the commit it waits for. Against this emulator the target is reachable only as "one round trip plus the commit"; against an RDS over a network it needs one round trip and a commit shorter than half the network round trip. The absolute latency is the figure to track.`,
  ];
}

function flatness(r: BenchResults): string[] {
  const f = missed(r, /^ops\.CreateSnapshot\.flatness$/)[0];
  if (!f) return [];
  const figs = r.figures.filter((x) => /^ops\.CreateSnapshot\..*\.latency$/.test(x.id));
  const overlap = figs.every((a) =>
    figs.every((b) => a.summary.p10 <= b.summary.p90 && b.summary.p10 <= a.summary.p90),
  );
  return [
    `- **CreateSnapshot flat across sizes** — slowest over fastest median ${formatValue(f.summary.median, "ratio")}, ${f.verdict!.text}. ${figs.map((x) => `${x.label.replace("CreateSnapshot, ", "")}: ${ms(x.summary.median)}`).join(", ")}. ${overlap ? "The p10–p90 ranges of all sizes overlap: the difference is within the noise of this shared machine, and a Btrfs snapshot does not read the volume's data, whatever its size." : "The ranges do not overlap; see the breakdown table for which command grows with size."}`,
  ];
}

function roundTrips(r: BenchResults): string[] {
  const misses = missed(r, /^ops\.(CreateSnapshot|DeleteSnapshot)\..*\.roundTrips$/);
  if (misses.length === 0) return [];
  const byOp = new Map<string, Figure>();
  for (const f of misses) byOp.set(f.id.split(".")[1]!, f);
  const out = [`- **Round trips per snapshot operation** (target ≤ 2):`];
  for (const [op, f] of byOp) {
    const commands = (r.commands[op] ?? []).map((c) => `\`${c.command}\``).join(", ");
    out.push(
      `  - ${op}: ${formatValue(f.summary.median, "round trips")}, ${f.verdict!.text}. Sent: ${commands}.`,
    );
  }
  out.push(
    "  - *What dominates:* one exec per RouterOS command. A snapshot id does not say which volume it belongs to, so every call starts by listing all snapshot subvolumes; CreateSnapshot then checks the source's `/disk` item, takes the snapshot, reads it back and reads the image size, each in its own exec; DeleteSnapshot removes, then checks whether the volume's snapshot directory is now orphaned.",
    "  - *What would close it:* RouterOS runs the `;`-separated commands of one exec line in order (the emulator does too), so the reads can travel together and a change with its read-backs together: CreateSnapshot as (1) the snapshot listing and the source's `/disk` item in one line, (2) the snapshot, its read-back and the image size in another — 2 round trips, still stateless; DeleteSnapshot as (1) the listing, (2) the remove followed by the listing of the volume's remaining snapshots. The client would need a way to send several commands in one line and split their replies (src/rds), and the storage layer to use it (src/storage).",
  );
  return out;
}

function listing(r: BenchResults): string[] {
  const count = Math.max(...r.setup.snapshotCounts);
  const misses = missed(r, new RegExp(`^list\\.${count}\\.(firstPage|walk)$`));
  if (misses.length === 0) return [];
  const first = medianOf(r, `list.${count}.firstPage`);
  const walk = medianOf(r, `list.${count}.walk`);
  const oneCall = medianOf(r, `list.${count}.oneCall`);
  const pages = r.listing.find((l) => l.snapshots === count)?.walkPages ?? 0;
  const phase = r.phases.find((p) => p.name === `ListSnapshots with ${count} snapshots`);
  const profile = r.profiles[`ListSnapshots with ${count} snapshots`];
  const layers = (p: ProfileSummary | undefined) =>
    p
      ? p.layers
          .slice(0, 3)
          .map((l) => `${l.name} ${Math.round(l.share * 100)}%`)
          .join(", ")
      : "no profile";
  const cpu = phase
    ? ` Over the phase (${(phase.wallMs / 1000).toFixed(0)} s) the emulator used ${(phase.emulatorCpuMs / 1000).toFixed(0)} s of CPU and the driver ${(phase.driverCpuMs / 1000).toFixed(0)} s.`
    : "";
  return [
    `- **ListSnapshots with ${count} snapshots** — ${misses.map((f) => `${f.label.replace(`ListSnapshots, ${count} snapshots: `, "")}: ${ms(f.summary.median)}, ${f.verdict!.text}`).join("; ")}.`,
    `  - *What dominates:* a page costs as much as the whole list — first page ${ms(first)}, everything in one call ${ms(oneCall)} — because every call, whatever its \`max_entries\`, lists every snapshot subvolume and every file under the snapshots directory (2 round trips, replies growing with the number of snapshots), parses and sorts all of them, and returns ${r.setup.pageSize}. The walk costs ${pages} × that (${ms(walk)}): it grows with the square of the number of snapshots. The transport is a small part here; the work is producing and parsing the replies.${cpu} The emulator's busy time: ${layers(profile?.emulator)} (top: ${topFunctions(profile?.emulator, 3)}); the driver's: ${layers(profile?.driver)} (top: ${topFunctions(profile?.driver, 3)}).`,
    `  - *What would close it:* (1) ask for less per page: \`proplist=\` with the few subvolume properties the driver reads, and the image sizes of the page's ${r.setup.pageSize} snapshots only (one \`/file\` query naming them) instead of every file under the snapshots directory; (2) in the emulator, a \`/file\` query that reads only the directory its \`where\` names rather than the whole pool; (3) in the driver, less to buffer and parse: at this size its busy time is mostly garbage collection and copies of the replies (its top functions above), which shrink with (1). Tokens stay stateless (no page cache in the controller, as the design asks), so each page reads the subvolume table once: a first page under 100 ms at ${count} snapshots needs that one read to be a few milliseconds per thousand snapshots, and a walk under 1 s needs the walk to stop re-reading it — e.g. a server-side \`where\` that starts after the token, if RouterOS can compare names.`,
  ];
}

function concurrency(r: BenchResults): string[] {
  const misses = missed(r, /^concurrency\..*\.unexpected$/);
  if (misses.length === 0) return [];
  const messages = [...new Set(r.concurrency.flatMap((c) => c.messages))].slice(0, 5);
  return [
    `- **Errors under concurrency** — ${misses.map((f) => `${f.label}: ${formatValue(f.summary.median, "errors")} (max ${f.summary.max})`).join("; ")}. Messages: ${messages.map((m) => `“${m}”`).join("; ")}.`,
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
 * What the figures show beyond the issue's targets: CreateSnapshot against the number of snapshots
 * already there, and the controller's memory against the limit the Helm chart gives it.
 */
export function beyondTargets(r: BenchResults): string {
  const lines: string[] = [];
  const base = medianOf(r, `ops.CreateSnapshot.${r.setup.volumeSizes[0]}.latency`);
  const byCount = r.setup.snapshotCounts
    .map((n) => ({
      n,
      create: medianOf(r, `list.${n}.createSnapshot`),
      remove: medianOf(r, `list.${n}.deleteSnapshot`),
    }))
    .filter((x) => x.create !== undefined);
  if (base !== undefined && byCount.length > 0) {
    lines.push(
      `- **CreateSnapshot is flat across volume sizes, not across snapshot counts:** ${ms(base)} with no other snapshots, ${byCount.map((x) => `${ms(x.create)} with ${x.n} present (DeleteSnapshot ${ms(x.remove)})`).join(", ")}. Both start by listing every snapshot subvolume to find the id (an id does not name its volume), so their cost grows with all snapshots on the RDS, not with the volume's.`,
    );
  }
  const peak = medianOf(r, "memory.driverRss.peak");
  const end = medianOf(r, "memory.driverRss.end");
  const limit = r.chartMemoryLimitMiB;
  if (peak !== undefined && limit !== undefined) {
    const over = peak > limit;
    lines.push(
      `- **Controller memory:** ${Math.round(end ?? 0)} MiB resident after all runs, peak ${Math.round(peak)} MiB (while listing ${Math.max(...r.setup.snapshotCounts)} snapshots: every listing holds the whole reply and every record at once). The Helm chart limits the controller container to ${limit} MiB (charts/rds-csi/values.yaml)${over ? ` — the peak here is ${(peak / limit).toFixed(1)}× that, so a controller listing this many snapshots would be killed for memory unless the replies shrink (above) or the limit grows. This process also serves the Node service and logs at debug level; the controller alone will be somewhat smaller.` : "; the peak stays under it."}`,
    );
  }
  if (lines.length === 0) return "";
  return ["## Beyond the targets", "", ...lines].join("\n");
}
