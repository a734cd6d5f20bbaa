import { readFile } from "node:fs/promises";
import path from "node:path";
import type { CommandSpec } from "../schema.js";
import { groupDigits } from "../sizes.js";
import { map, NIL, num, type RosValue, str } from "../values.js";
import type { SimWorld } from "../world.js";
import { targetItems } from "./list-commands.js";
import type { Table } from "./table.js";

type Kind = "count" | "bytes" | "rate" | "time";

/** Field order and, for the pool, the /proc/diskstats column each one comes from (sectors × 512 for bytes). */
const FIELDS: ReadonlyArray<readonly [string, Kind, number | null]> = [
  ["read-ops", "count", 0],
  ["read-ops-per-second", "count", null],
  ["read-bytes", "bytes", 2],
  ["read-rate", "rate", null],
  ["read-merges", "count", 1],
  ["read-time", "time", 3],
  ["write-ops", "count", 4],
  ["write-ops-per-second", "count", null],
  ["write-bytes", "bytes", 6],
  ["write-rate", "rate", null],
  ["write-merges", "count", 5],
  ["write-time", "time", 7],
  ["in-flight-ops", "count", 8],
  ["active-time", "time", 9],
  ["wait-time", "time", 10],
  ["discard-ops", "count", 11],
  ["discard-bytes", "bytes", 13],
  ["discard-merges", "count", 12],
  ["discard-time", "time", 14],
  ["flush-ops", "count", 15],
  ["flush-time", "time", 16],
];

async function diskStats(device: string): Promise<bigint[]> {
  const text = await readFile("/proc/diskstats", "utf8").catch(() => "");
  const name = path.basename(device);
  const line = text.split("\n").find((l) => l.trim().split(/\s+/)[2] === name);
  return line ? line.trim().split(/\s+/).slice(3).map(BigInt) : [];
}

function render(kind: Kind, value: bigint): string {
  if (kind === "rate") return `${value}bps`;
  if (kind === "time") return `${value}ms`;
  return groupDigits(value);
}

/**
 * `/disk monitor-traffic <disk> once`: one sample. The pool reports its loop device's kernel counters;
 * file disks are not attached by the emulator, so theirs stay zero. Without `once` it also prints one
 * sample and ends (an exec channel cannot be interrupted like a terminal).
 */
export function monitorTrafficCommand(world: SimWorld, table: Table): CommandSpec {
  return {
    name: "monitor-traffic",
    args: [
      { name: "numbers", kind: "items" },
      { name: "once", kind: "flag" },
      { name: "as-value", kind: "flag" },
      { name: "without-paging", kind: "flag" },
      { name: "duration", kind: "string" },
      { name: "interval", kind: "string" },
      { name: "freeze-frame-interval", kind: "string" },
      { name: "proplist", kind: "string" },
    ],
    unnamed: ["numbers"],
    async run(inv) {
      const { targets } = await targetItems(inv, table);
      const records: RosValue[] = [];
      for (const item of targets) {
        const record = world.state.disks.find((d) => d.id === item.id);
        const stats = record?.pool ? await diskStats(world.pool.loopDevice) : [];
        const values = FIELDS.map(([name, kind, column]) => {
          const raw = column === null ? 0n : (stats[column] ?? 0n);
          return [name, kind, kind === "bytes" ? raw * 512n : raw] as const;
        });
        if (inv.args.has("as-value")) {
          records.push(map([["slot", str(item.name)], ...values.map(([n, , v]) => [n, num(v)] as const)]));
          continue;
        }
        const rows = [["slot", item.name] as const, ...values.map(([n, k, v]) => [n, render(k, v)] as const)];
        const keyWidth = Math.max(...rows.map(([n]) => n.length)) + 2;
        const valueWidth = Math.max(...rows.map(([, v]) => v.length));
        for (const [n, v] of rows) inv.ctx.write(`${n.padStart(keyWidth)}: ${v.padStart(valueWidth)}`);
      }
      return inv.args.has("as-value")
        ? records.length === 1
          ? (records[0] as RosValue)
          : { t: "array", v: records }
        : NIL;
    },
  };
}
