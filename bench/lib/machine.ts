import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";
import type { MachineInfo } from "./results.js";

function btrfsProgsVersion(): string {
  try {
    return execFileSync("btrfs", ["--version"], { encoding: "utf8" }).trim().split("\n")[0] ?? "";
  } catch {
    return "unknown";
  }
}

export function collectMachine(): MachineInfo {
  const load = loadavg().map((v) => Math.round(v * 100) / 100);
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    kernel: release(),
    node: process.version,
    btrfsProgs: btrfsProgsVersion(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageStart: load,
    loadAverageEnd: load,
  };
}
