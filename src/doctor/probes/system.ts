import { printJsonCommand, where } from "../../rds/command.js";
import { type RdsConnection, supports } from "../../rds/index.js";
import { parseJsonRecords } from "../../rds/parse/json.js";
import { firstLine, jsonText, type ProbeContext, requirement } from "../probe.js";
import type { CheckResult } from "../report.js";

const GIB = 1024n ** 3n;
/** Below this much free space in the pool the report warns. */
const LOW_FREE_BYTES = 10n * GIB;
/** Round trips measured; the median is reported. */
const PINGS = 5;

/** The SSH login and host key: everything else needs it. */
export async function checkConnection(ctx: ProbeContext, connection: RdsConnection): Promise<CheckResult> {
  try {
    const ms = await ctx.session.ping();
    const fp = connection.health().hostKeyFingerprint ?? "unknown";
    return requirement("connection", "SSH login", "ok", `host key ${fp}`, `first answer in ${ms} ms`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return requirement("connection", "SSH login", "unsupported", "no connection", message);
  }
}

export async function checkVersion(ctx: ProbeContext): Promise<CheckResult> {
  const version = await ctx.rds.routerOsVersion();
  ctx.facts.version = version;
  const missing = (
    [
      ["fileDisks", "file-backed disks (7.17)"],
      ["btrfsSubvolumes", "/disk/btrfs/subvolume (7.18)"],
      ["nvmeServerNqn", "nvme-tcp-server-nqn (7.21)"],
    ] as const
  )
    .filter(([feature]) => !supports(version, feature))
    .map(([, what]) => what);
  const json = supports(version, "serializeJson")
    ? "listings as JSON"
    : "listings as print detail (no JSON before 7.13)";
  return missing.length === 0
    ? requirement(
        "routeros-version",
        "RouterOS version",
        "ok",
        version.text,
        `has everything the driver uses; ${json}`,
      )
    : requirement(
        "routeros-version",
        "RouterOS version",
        "unsupported",
        version.text,
        `lacks ${missing.join(", ")}`,
      );
}

/** Installed packages; `rose-storage` carries Btrfs subvolumes and NVMe/TCP export. */
export async function checkPackages(ctx: ProbeContext): Promise<CheckResult> {
  const reply = await ctx.session.send(printJsonCommand("/system/package"));
  if (reply.error) {
    return requirement(
      "packages",
      "Packages",
      "warning",
      "not listed",
      `/system/package answered: ${firstLine(reply.output)}; the subvolume checks below show whether rose-storage is there`,
    );
  }
  const packages = parseJsonRecords(jsonText(reply.output)).map((p) => {
    const name = p.properties.get("name") ?? "?";
    const version = p.properties.get("version");
    return version ? `${name} ${version}` : name;
  });
  const rose = packages.some((p) => p.startsWith("rose-storage"));
  return requirement(
    "packages",
    "Packages",
    rose ? "ok" : "unsupported",
    packages.join(", ") || "none listed",
    rose ? "rose-storage is installed" : "rose-storage is missing: no Btrfs subvolumes, no NVMe/TCP export",
  );
}

/** The pool disk: mounted, Btrfs, the label subvolume commands will name, free space. */
export async function checkPool(ctx: ProbeContext): Promise<CheckResult> {
  const { pool } = ctx.paths;
  const title = `Pool /${pool}`;
  const reply = await ctx.session.send(printJsonCommand("/disk", where.eq("mount-point", pool)));
  if (reply.error) throw reply.error;
  const disk = parseJsonRecords(jsonText(reply.output)).find((d) => d.properties.get("mount-point") === pool);
  if (!disk) {
    return requirement(
      "pool",
      title,
      "unsupported",
      "not mounted",
      `no /disk item has mount-point=${pool}: check --rds-pool`,
    );
  }
  const fs = disk.properties.get("fs") ?? "?";
  const label = disk.properties.get("fs-label") ?? "";
  const { size, free } = await ctx.rds.poolCapacity(pool);
  const space = `${gib(free)} GiB free of ${gib(size)} GiB`;
  if (fs !== "btrfs") {
    return requirement(
      "pool",
      title,
      "unsupported",
      `${fs}, ${space}`,
      "the driver needs a Btrfs pool (subvolumes, snapshots)",
    );
  }
  if (label !== ctx.fsLabel) {
    return requirement(
      "pool",
      title,
      "unsupported",
      `btrfs label ${label || "(none)"}, ${space}`,
      `subvolume commands name the filesystem by its label: set --rds-fs-label ${label || "<label>"}`,
    );
  }
  const low = free < LOW_FREE_BYTES;
  return requirement(
    "pool",
    title,
    low ? "warning" : "ok",
    `btrfs label ${label}, ${space}`,
    low ? `less than ${gib(LOW_FREE_BYTES)} GiB free` : "Btrfs, label matches --rds-fs-label",
  );
}

/** Median time of the cheapest command: what every volume operation pays at least once. */
export async function measureRoundTrip(ctx: ProbeContext): Promise<CheckResult> {
  const times: number[] = [];
  for (let i = 0; i < PINGS; i++) times.push(await ctx.session.ping());
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  return {
    id: "round-trip",
    kind: "measurement",
    title: "Round trip (:put 1)",
    status: "ok",
    observed: `${median} ms`,
    supported: true,
    note: `median of ${PINGS}, from ${times[0]} to ${times[times.length - 1]} ms`,
    ms: median,
  };
}

function gib(bytes: bigint): string {
  return (Number((bytes * 10n) / GIB) / 10).toFixed(1);
}
