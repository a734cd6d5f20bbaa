/**
 * `rds-csi doctor` as a user runs it: the CLI process against the emulator, under the settings that
 * change what it must detect. Every behaviour setting (src/sim/README.md) is run at least once with a value
 * other than its default, and the report must name the value the emulator was set to. After every
 * run, including a failed probe and a SIGINT mid-run, the emulator holds exactly what it held before.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DoctorReport } from "../../src/doctor/report.js";
import { type SimFixture, startSim } from "../helpers/sim.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RUN_TIMEOUT_MS = 90_000;

/** Every behaviour setting at its default, as the emulator starts. */
const DEFAULTS = {
  json_integer_form: "float",
  file_listing_contents: true,
  file_id_form: "opaque",
  put_wrap: true,
  file_print_order: "creation",
  empty_print_legend: true,
  snapshot_parent_resolution: "path",
  subvolume_name_with_slash: "accept",
  subvolume_fullname_form: "no-leading-slash",
  subvolume_parent_format: "name",
  subvolume_fs_form: "label",
  creation_time_format: "iso",
  line_error_mode: "stop",
  proplist_keeps_id: true,
  exported_disk_file_size: "resize",
  subvolume_remove_in_use: "fail",
  file_remove_in_use: "fail",
  attach_without_file_size: "accept",
  file_size_plain_bytes: "accept",
  file_add_relative_path: "accept",
  error_texts: "default",
} as const;

/** Every setting that a subvolume under plain directories allows to be probed, at its other value. */
const OTHERS = {
  json_integer_form: "integer",
  file_listing_contents: false,
  file_id_form: "star-hex",
  put_wrap: false,
  file_print_order: "alphabetical",
  empty_print_legend: false,
  snapshot_parent_resolution: "last-name",
  subvolume_fullname_form: "leading-slash",
  subvolume_parent_format: "fullname",
  subvolume_fs_form: "uuid",
  creation_time_format: "routeros",
  line_error_mode: "continue",
  proplist_keeps_id: false,
  exported_disk_file_size: "refuse",
  subvolume_remove_in_use: "allow",
  file_remove_in_use: "allow",
  attach_without_file_size: "refuse",
  file_size_plain_bytes: "refuse",
  file_add_relative_path: "refuse",
  error_texts: "alternative",
} as const;

/** What the report says for an emulator setting value (error_texts: whether the classifier knew the wording). */
function expectedObserved(setting: string, value: string | boolean): string {
  if (setting === "error_texts") return value === "default" ? "recognised" : "unrecognised";
  return String(value);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let sim: SimFixture;

function doctor(
  args: readonly string[],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli.ts",
        "doctor",
        "--rds-address",
        sim.host,
        "--rds-port",
        String(sim.port),
        "--rds-key-file",
        sim.privateKeyPath,
        "--rds-known-hosts-file",
        sim.knownHostsPath,
        "--rds-command-timeout",
        "20s",
        ...args,
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`doctor did not finish in ${RUN_TIMEOUT_MS} ms: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
      onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function doctorJson(args: readonly string[] = []): Promise<{ run: Run; report: DoctorReport }> {
  const run = await doctor(["--json", ...args]);
  let report: DoctorReport;
  try {
    report = JSON.parse(run.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { run, report };
}

/** What the emulator holds: every path in the pool, and every /disk item. */
async function emulatorState(): Promise<{ files: string[]; disks: string }> {
  const files: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      files.push(`${rel}${e.name}`);
      if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}${e.name}/`);
    }
  };
  walk(sim.poolMountPath, "");
  const disks = await sim.control.exec(":put [/disk print as-value proplist=slot]");
  return { files: files.sort(), disks: disks.output };
}

async function withSettings(patch: Record<string, unknown>): Promise<void> {
  await sim.control.setSettings({ ...DEFAULTS, ...patch });
}

function check(report: DoctorReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in the report: ${report.checks.map((c) => c.id).join(", ")}`);
  return found;
}

/** The exit status must follow from the report, whichever the findings were. */
function expectConsistentExit(run: Run, report: DoctorReport): void {
  const bad = report.checks.some((c) => c.status === "unsupported" || c.status === "error");
  expect(report.cleanup.left).toEqual([]);
  expect(report.exitCode).toBe(bad ? 3 : 0);
  expect(run.code).toBe(report.exitCode);
}

/** The table printed to stdout says, row by row, what the JSON of the same run says. */
function expectTableMatches(table: string, report: DoctorReport): void {
  const lines = table.split("\n");
  const header = lines.findIndex((l) => l.startsWith("CHECK "));
  expect(header).toBeGreaterThan(0);
  const headerLine = lines[header] ?? "";
  const [observedAt, supportedAt, noteAt] = ["OBSERVED", "SUPPORTED", "NOTE"].map((c) =>
    headerLine.indexOf(c),
  );
  const rows: Array<{ id: string; observed: string; supported: string; note: string }> = [];
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") break;
    rows.push({
      id: line.slice(0, observedAt).trim(),
      observed: line.slice(observedAt, supportedAt).trim(),
      supported: line.slice(supportedAt, noteAt).trim(),
      note: line.slice(noteAt).trim(),
    });
  }
  expect(rows.map((r) => r.id)).toEqual(report.checks.map((c) => c.id));
  report.checks.forEach((c, i) => {
    const row = rows[i];
    expect(row?.observed, c.id).toBe(c.observed);
    expect(row?.supported, c.id).toBe(c.supported === null ? "-" : c.supported ? "yes" : "no");
    expect(row?.note, c.id).toBe(c.status === "ok" ? c.note : `${c.status.toUpperCase()}: ${c.note}`);
  });
  expect(table).toContain(`${report.summary} (exit status ${report.exitCode})`);
}

beforeAll(async () => {
  sim = await startSim({ size: "1G" });
});

afterAll(async () => {
  await sim?.stop();
});

describe("rds-csi doctor against the emulator", () => {
  it("names every default behaviour in a table and in JSON that agree, exits 0, leaves the emulator as it found it", async () => {
    await withSettings({});
    const before = await emulatorState();
    const jsonFile = path.join(mkdtempSync(path.join(tmpdir(), "rds-doctor-")), "report.json");
    const run = await doctor(["--probe-exported-disk", "--json-file", jsonFile]);
    const report = JSON.parse(readFileSync(jsonFile, "utf8")) as DoctorReport;
    rmSync(path.dirname(jsonFile), { recursive: true, force: true });
    expectTableMatches(run.stdout, report);
    for (const [setting, value] of Object.entries(DEFAULTS)) {
      expect(check(report, setting).observed, setting).toBe(expectedObserved(setting, value));
    }
    expect(report.checks.filter((c) => c.status === "unsupported" || c.status === "error")).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.cleanup.removed.length).toBeGreaterThan(10);
    expect(await emulatorState()).toEqual(before);
    expect(check(report, "routeros-version").observed).toMatch(/^7\.22/);
    expect(check(report, "packages").observed).toBe("routeros 7.22, rose-storage 7.22");
    expect(check(report, "packages").status).toBe("ok");
    for (const id of ["round-trip", "snapshot", "listing"])
      expect(check(report, id).ms).toBeGreaterThanOrEqual(0);
  });

  it("names every other behaviour where the emulator is set to it", async () => {
    await withSettings(OTHERS);
    const before = await emulatorState();
    const { run, report } = await doctorJson(["--probe-exported-disk"]);
    const failed = report.checks.filter((c) => c.status === "error");
    expect(failed, JSON.stringify(failed)).toEqual([]);
    for (const [setting, value] of Object.entries(OTHERS)) {
      expect(check(report, setting).observed, setting).toBe(expectedObserved(setting, value));
    }
    expect(check(report, "error_texts").details).toMatchObject({
      duplicate_slot: "failure: slot name is taken",
    });
    // The driver is built to work under each of these.
    expect(report.checks.filter((c) => c.supported === false)).toEqual([]);
    expectConsistentExit(run, report);
    expect(run.code).toBe(0);
    expect(await emulatorState()).toEqual(before);
  });

  it("nests in a subvolume root where plain directories refuse it, and reads an ignored file-size=", async () => {
    await withSettings({ subvolume_name_with_slash: "refuse", exported_disk_file_size: "ignore" });
    const before = await emulatorState();
    const { run, report } = await doctorJson(["--probe-exported-disk"]);
    expect(check(report, "subvolume_name_with_slash").observed).toBe("refuse");
    expect(check(report, "exported_disk_file_size").observed).toBe("ignore");
    expect(check(report, "scratch").note).toMatch(/^a subvolume; made raid1\/rds-csi as a subvolume/);
    expect(check(report, "snapshot").status).toBe("ok");
    expect(check(report, "snapshot_parent_resolution").observed).toBe("path");
    const bad = report.checks.filter((c) => c.status !== "ok" && c.status !== "warning");
    expect(bad, JSON.stringify(bad)).toEqual([]);
    expectConsistentExit(run, report);
    expect(run.code).toBe(0);
    expect(await emulatorState()).toEqual(before);
  });

  it("says a plain-directory root cannot hold the driver's folders where nesting is refused, and keeps it", async () => {
    await withSettings({ subvolume_name_with_slash: "refuse" });
    const made = await sim.control.exec('/file add name="raid1/rds-csi" type=directory');
    expect(made.error).toBeNull();
    try {
      const before = await emulatorState();
      const { run, report } = await doctorJson();
      const slash = check(report, "subvolume_name_with_slash");
      expect(slash.observed).toBe("refuse");
      expect(slash.supported).toBe(false);
      expect(check(report, "snapshot").status).toBe("skipped");
      expectConsistentExit(run, report);
      expect(run.code).toBe(3);
      expect(await emulatorState()).toEqual(before);
    } finally {
      await sim.control.exec('/file remove [find where name="raid1/rds-csi"]');
    }
  });

  it("reports the one unsupported pairing: parent= by last name where nesting under plain directories is refused", async () => {
    await withSettings({ subvolume_name_with_slash: "refuse", snapshot_parent_resolution: "last-name" });
    const before = await emulatorState();
    const { run, report } = await doctorJson();
    expect(check(report, "subvolume_name_with_slash")).toMatchObject({ observed: "refuse", supported: true });
    expect(check(report, "snapshot_parent_resolution")).toMatchObject({
      observed: "last-name",
      supported: false,
    });
    expectConsistentExit(run, report);
    expect(run.code).toBe(3);
    expect(await emulatorState()).toEqual(before);
  });

  it("cleans up after a probe whose connection drops mid-command", async () => {
    await withSettings({});
    const before = await emulatorState();
    // The command runs (the subvolume is made) and the answer is lost.
    await sim.control.addFault({
      match: 'subvolume add fs=\\S+ name="[^"]*/dc-',
      action: "drop-after",
      times: 1,
    });
    try {
      const { run, report } = await doctorJson();
      expect(check(report, "subvolumes").status).toBe("error");
      expect(run.code).toBe(3);
      expect(report.cleanup.left).toEqual([]);
      expect(report.cleanup.removed.some((o) => /\/dc-/.test(o))).toBe(true);
    } finally {
      await sim.control.clearFaults();
    }
    expect(await emulatorState()).toEqual(before);
  });

  it("exits 2 without sending a command when the host key is not the pinned one", async () => {
    await sim.control.clearLogs("commands");
    const wrong = `SHA256:${Buffer.alloc(32, 7).toString("base64").replace(/=+$/, "")}`;
    const { run, report } = await doctorJson(["--rds-host-key-fingerprint", wrong]);
    expect(check(report, "connection").status).toBe("unsupported");
    expect(check(report, "connection").note).toMatch(/host key/i);
    expect(report.checks).toHaveLength(1);
    expect(run.code).toBe(2);
    expect(await sim.control.commands()).toEqual([]);
  });

  it("stops at SIGINT mid-run, cleans up and exits 130", async () => {
    await withSettings({});
    const before = await emulatorState();
    await sim.control.addFault({
      match: 'subvolume add fs=\\S+ name="[^"]*/dc-',
      action: "delay",
      ms: 3000,
      times: 1,
    });
    let sent = false;
    try {
      const run = await doctor(["--json"], (stderr, child) => {
        // The check just before the delayed command has finished: the delayed command is in flight.
        if (!sent && /exported_disk_file_size:/.test(stderr)) {
          sent = true;
          setTimeout(() => child.kill("SIGINT"), 500);
        }
      });
      expect(sent).toBe(true);
      const report = JSON.parse(run.stdout) as DoctorReport;
      expect(report.interrupted).toBe("SIGINT");
      expect(run.code).toBe(130);
      expect(report.exitCode).toBe(130);
      expect(report.cleanup.left).toEqual([]);
      expect(report.checks.some((c) => c.id === "snapshot")).toBe(false);
    } finally {
      await sim.control.clearFaults();
    }
    expect(await emulatorState()).toEqual(before);
  });
});
