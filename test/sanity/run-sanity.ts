/**
 * Runs the csi-sanity conformance suite (kubernetes-csi/csi-test v5.4.0) against `rds-csi all`
 * with the loop transport and a fresh `rds-csi sim` on real Btrfs. Exit code: csi-sanity's.
 * It runs once with mount volumes and once with raw block volumes. The JUnit reports go to
 * $SANITY_JUNIT_DIR (default .tmp/) and a summary with every skip and its reason is printed, so
 * CI output keeps the result.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalStack } from "../../src/demo/local-stack.js";
import { matrixSettings } from "../helpers/matrix-settings.js";

const MiB = 1024 * 1024;
/** Small, so csi-sanity's attach-limit spec makes few volumes; `rds-csi all` reports and enforces it. */
const MAX_VOLUMES_PER_NODE = 4;
/** Specs that must run: a skip means a capability or setting went missing, which fails the run. */
const MUST_RUN = [
  "should fail when the volume is already published but is incompatible",
  "should fail when publishing more volumes than the node max attach limit",
];

function findCsiSanity(): string {
  const candidates = [
    process.env.CSI_SANITY,
    join(homedir(), "go", "bin", "csi-sanity"),
    "/usr/local/bin/csi-sanity",
  ];
  const found = candidates.find((c): c is string => c !== undefined && c !== "" && existsSync(c));
  if (!found) {
    throw new Error(
      "csi-sanity not found: install it with `go install github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@v5.4.0` (./setup.sh does)",
    );
  }
  return found;
}

function summarize(junitPath: string): string {
  if (!existsSync(junitPath)) return "no JUnit report written";
  const xml = readFileSync(junitPath, "utf8");
  const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? "?";
  return `tests=${attr("tests")} failures=${attr("failures")} errors=${attr("errors")} skipped=${attr("skipped")}`;
}

/** Skipped specs with csi-sanity's reason, so the log shows every skip is a capability we do not advertise. */
function skipped(junitPath: string): string[] {
  if (!existsSync(junitPath)) return [];
  const xml = readFileSync(junitPath, "utf8");
  const out: string[] = [];
  for (const m of xml.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const reason = /<skipped message="([^"]*)"/.exec(m[2] ?? "")?.[1];
    if (reason !== undefined)
      out.push(`${reason.replace(/^skipped - /, "")}: ${m[1]?.replace(/^\[It\] /, "")}`);
  }
  return out;
}

function junitPathFor(accessType: "mount" | "block"): string {
  return resolve(process.env.SANITY_JUNIT_DIR ?? ".tmp", `csi-sanity-${accessType}-junit.xml`);
}

/** The failure messages of the failed specs. */
function failures(junitPath: string): string[] {
  if (!existsSync(junitPath)) return [];
  const xml = readFileSync(junitPath, "utf8");
  return [...xml.matchAll(/<failure message="([^"]*)"/g)].map((m) => m[1] ?? "");
}

/*
 * csi-sanity's own dial (csi-test v5.4.0 utils.Connect) waits for a state change from the state it
 * reads after dialing; when the connection is already READY at that read, nothing changes and it
 * gives up after a minute with "Connection timed out", whatever the driver does. A run whose only
 * failures are that message is run once more; a driver that really does not answer fails both.
 */
function onlyDialRace(junitPath: string): boolean {
  const messages = failures(junitPath);
  return messages.length > 0 && messages.every((m) => m.includes("Connection timed out"));
}

const simSettings = matrixSettings();

async function runOnce(sanity: string, accessType: "mount" | "block"): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), "rds-csi-sanity-"));
  const junit = junitPathFor(accessType);
  mkdirSync(resolve(junit, ".."), { recursive: true });
  rmSync(junit, { force: true });
  const stack = await startLocalStack({
    workDir: join(workDir, "stack"),
    poolSize: "8G",
    logLevel: "warn",
    driverArgs: [`--max-volumes-per-node=${MAX_VOLUMES_PER_NODE}`],
    // Under the settings matrix (npm run test:matrix), the emulator runs with its combination.
    ...(Object.keys(simSettings).length > 0 ? { simSettings } : {}),
  });
  try {
    const params = join(workDir, "volume-parameters.yaml");
    // Keys the provisioner adds with --extra-create-metadata; the driver accepts csi.storage.k8s.io/*.
    writeFileSync(
      params,
      "csi.storage.k8s.io/pvc/name: sanity-claim\ncsi.storage.k8s.io/pvc/namespace: default\n",
    );
    const snapParams = join(workDir, "snapshot-parameters.yaml");
    writeFileSync(snapParams, "csi.storage.k8s.io/volumesnapshot/name: sanity-snapshot\n");
    const args = [
      `-csi.endpoint=${stack.endpoint}`,
      `-csi.stagingdir=${join(workDir, "staging")}`,
      `-csi.mountdir=${join(workDir, "mount")}`,
      `-csi.testvolumeaccesstype=${accessType}`,
      `-csi.testvolumesize=${64 * MiB}`,
      `-csi.testvolumeexpandsize=${128 * MiB}`,
      `-csi.testvolumeparameters=${params}`,
      `-csi.testsnapshotparameters=${snapParams}`,
      "-csi.testnodevolumeattachlimit",
      `-ginkgo.junit-report=${junit}`,
      "-ginkgo.no-color",
      ...(process.env.SANITY_FOCUS ? [`-ginkgo.focus=${process.env.SANITY_FOCUS}`] : []),
    ];
    process.stdout.write(`csi-sanity ${args.join(" ")}\n`);
    const code = await new Promise<number>((done) => {
      const child = spawn(sanity, args, { stdio: "inherit" });
      child.on("exit", (c, signal) => done(c ?? (signal ? 128 : 1)));
    });
    process.stdout.write(`\ncsi-sanity (${accessType}): ${summarize(junit)} (JUnit report: ${junit})\n`);
    const skips = skipped(junit);
    for (const s of skips) process.stdout.write(`  skipped: ${s}\n`);
    const missing = process.env.SANITY_FOCUS
      ? []
      : MUST_RUN.filter((spec) => skips.some((s) => s.includes(spec)));
    for (const spec of missing) process.stdout.write(`  must run but was skipped: ${spec}\n`);
    if (code === 0 && missing.length > 0) return 1;
    if (code !== 0) process.stdout.write(`driver log tail:\n${stack.driver.tail(40)}\n`);
    return code;
  } finally {
    const problems = await stack.stop();
    for (const p of problems) process.stderr.write(`cleanup: ${p}\n`);
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const sanity = findCsiSanity();
  const types = (process.env.SANITY_ACCESS_TYPES ?? "mount,block").split(",") as Array<"mount" | "block">;
  const results: string[] = [];
  let worst = 0;
  for (const t of types) {
    let code = await runOnce(sanity, t);
    if (code !== 0 && onlyDialRace(junitPathFor(t))) {
      process.stdout.write(
        `csi-sanity (${t}): its dial timed out before any call reached the driver; running it again\n`,
      );
      code = await runOnce(sanity, t);
    }
    results.push(`${t}: ${code === 0 ? "passed" : `FAILED (exit ${code})`}`);
    worst ||= code;
  }
  process.stdout.write(`\ncsi-sanity results — ${results.join(", ")}\n`);
  return worst;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`sanity: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
