import { describe, expect, it } from "vitest";
import { renderHuman } from "../../src/doctor/render.js";
import { type CheckResult, DOCTOR_SCHEMA, type DoctorReport, exitCodeFor } from "../../src/doctor/report.js";
import { ScratchPaths } from "../../src/doctor/scratch.js";

const check = (id: string, status: CheckResult["status"], supported: boolean | null = true): CheckResult => ({
  id,
  kind: "setting",
  title: id,
  status,
  observed: "x",
  supported,
  note: "",
});
const clean = { removed: ["/disk slot=doctor-a"], left: [], kept: [] };

describe("doctor exit status", () => {
  it("is 0 with warnings and skips, 3 with anything unsupported or failed", () => {
    const ok = [check("connection", "ok"), check("a", "warning"), check("b", "skipped", null)];
    expect(exitCodeFor({ checks: ok, cleanup: clean, interrupted: null })).toBe(0);
    expect(
      exitCodeFor({ checks: [...ok, check("c", "unsupported", false)], cleanup: clean, interrupted: null }),
    ).toBe(3);
    expect(
      exitCodeFor({ checks: [...ok, check("c", "error", null)], cleanup: clean, interrupted: null }),
    ).toBe(3);
  });

  it("is 2 when the RDS cannot be reached, 130/143 on a signal, 4 when cleanup left something", () => {
    const unreachable = [check("connection", "unsupported", false)];
    expect(exitCodeFor({ checks: unreachable, cleanup: clean, interrupted: null })).toBe(2);
    expect(exitCodeFor({ checks: [], cleanup: clean, interrupted: "SIGINT" })).toBe(130);
    expect(exitCodeFor({ checks: [], cleanup: clean, interrupted: "SIGTERM" })).toBe(143);
    const left = { ...clean, left: [{ object: "/file x", error: "busy" }] };
    expect(exitCodeFor({ checks: [], cleanup: left, interrupted: "SIGINT" })).toBe(4);
  });
});

describe("doctor names", () => {
  it("keep every object of a run under its scratch directory and its own slot prefix", () => {
    const p = new ScratchPaths("raid1", "rds-csi", "0b1c2d3e-4f50-4617-8899-aabbccddeeff");
    expect(p.dir).toBe("rds-csi/doctor-0b1c2d3e-4f50-4617-8899-aabbccddeeff");
    expect(p.inPool("a.img")).toBe("raid1/rds-csi/doctor-0b1c2d3e-4f50-4617-8899-aabbccddeeff/a.img");
    expect(p.slot("a")).toBe("doctor-0b1c2d3e4f50-a");
    expect(p.name("c")).toBe("dc-0b1c2d3e4f50");
  });
});

describe("doctor table", () => {
  it("shows each check's id, observed value and support, and the statuses that need action", () => {
    const report: DoctorReport = {
      schema: DOCTOR_SCHEMA,
      driverVersion: "0.1.0",
      startedAt: "",
      finishedAt: "",
      target: {
        address: "192.0.2.10",
        port: 22,
        user: "rds-csi",
        pool: "raid1",
        fsLabel: "raid1",
        root: "rds-csi",
      },
      scratch: "/raid1/rds-csi/doctor-x",
      interrupted: null,
      checks: [
        { ...check("json_integer_form", "ok"), observed: "float", note: "fine" },
        {
          ...check("subvolume_name_with_slash", "unsupported", false),
          observed: "refuse",
          note: "root is plain",
        },
      ],
      cleanup: { ...clean, left: [{ object: "/file raid1/rds-csi/doctor-x", error: "busy" }] },
      exitCode: 4,
      summary: "s",
    };
    const lines = renderHuman(report).split("\n");
    expect(lines).toContain("json_integer_form          float     yes        fine");
    expect(lines).toContain("subvolume_name_with_slash  refuse    no         UNSUPPORTED: root is plain");
    expect(lines).toContain("  LEFT BEHIND /file raid1/rds-csi/doctor-x: busy");
    expect(lines).toContain("s (exit status 4)");
  });
});
