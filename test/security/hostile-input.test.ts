/**
 * Hostile input through the real gRPC endpoint of `rds-csi all` (debug logging, an encrypted SSH
 * key) against the emulator: every user-controlled string field gets script syntax, quotes, control
 * characters, odd Unicode and very long values. The driver must answer as the CSI spec says for an
 * unknown or malformed value, stay up, send none of it to the RDS (no emulator command line holds a
 * hostile value, no `$` is ever evaluated), and never write a secret into its log.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import ssh2 from "ssh2";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CsiClient } from "../../src/demo/csi-client.js";
import { createSnapshotRequest, createVolumeRequest } from "../controller/harness.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { type CallOutcome, DriverProcess } from "../reliability/driver-process.js";
import { formatTable, type Row } from "../reliability/report.js";
import { hostileString, MARKER, oversized, secretValue } from "./hostile.js";
import { oversizedFields, type Service } from "./oversized-fields.js";
import {
  capacityRequest,
  expandVolumeRequest,
  listSnapshotsRequest,
  nodeExpandRequest,
  publishRequest,
  stageRequest,
  statsRequest,
  validateRequest,
} from "./requests.js";

const MiB = 1024n * 1024n;
const SIDECAR_PREFIX = "csi.storage.k8s.io/";
const VOLUME_ID = /^pvc-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let sim: SimFixture;
let driver: DriverProcess;
let scratch: string;
let passphrase: string;
let privateKeyText: string;
let volumeId: string;
const secretTokens: string[] = [];

function volumeIdOf(outcome: CallOutcome): string {
  const volume = outcome.response?.volume as { volume_id?: string } | undefined;
  if (!volume?.volume_id) throw new Error(`no volume in ${JSON.stringify(outcome.response)}`);
  return volume.volume_id;
}

/** The driver's last log lines, each cut short (hostile values can be very long). */
function driverTail(): string {
  return driver.lines
    .slice(-12)
    .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
    .join("\n");
}

async function call(service: Service, method: string, request: object): Promise<CallOutcome> {
  const outcome = await driver.attempt(service, method, request);
  expect(driver.running, `the driver exited after ${method}:\n${driver.lines.slice(-20).join("\n")}`).toBe(
    true,
  );
  return outcome;
}

/** The call ends in one of `allowed` (OK = 0); a refusal carries a message a person can read. */
async function expectOneOf(
  service: Service,
  method: string,
  request: object,
  allowed: readonly status[],
): Promise<CallOutcome> {
  const outcome = await call(service, method, request);
  const names = allowed.map((c) => status[c]);
  expect(names, `${method} answered ${status[outcome.code]}: ${outcome.message}\n${driverTail()}`).toContain(
    status[outcome.code],
  );
  if (outcome.code !== status.OK) expect(outcome.message.length).toBeGreaterThan(0);
  return outcome;
}

/** Scales the number of generated cases (RDS_CSI_FUZZ_SCALE=10 for a long run). */
const SCALE = Number(process.env.RDS_CSI_FUZZ_SCALE ?? "1");
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)) });

beforeAll(async () => {
  sim = await startSim();
  scratch = mkdtempSync(path.join(tmpdir(), "rds-csi-hostile-"));
  // An encrypted key, so the passphrase is one more secret the log must never show.
  passphrase = `pass-${randomBytes(12).toString("hex")}`;
  const keys = ssh2.utils.generateKeyPairSync("ed25519", { passphrase, cipher: "aes256-ctr", rounds: 16 });
  privateKeyText = keys.private;
  const keyFile = path.join(scratch, "id_ed25519");
  const passFile = path.join(scratch, "passphrase");
  writeFileSync(keyFile, keys.private, { mode: 0o600 });
  writeFileSync(passFile, passphrase, { mode: 0o600 });
  appendFileSync(sim.authorizedKeysPath, `${keys.public}\n`);
  driver = new DriverProcess([
    "all",
    "--log-level",
    "debug",
    "--rds-address",
    sim.host,
    "--rds-port",
    String(sim.port),
    "--rds-key-file",
    keyFile,
    "--rds-key-passphrase-file",
    passFile,
    "--rds-host-key-fingerprint",
    sim.hostKeyFingerprint,
    "--rds-pool",
    sim.pool,
    "--node-id",
    "hostile-node",
    "--node-transport",
    "loop",
    "--loop-pool-path",
    sim.poolMountPath,
  ]);
  await driver.start();
  const created = await call(
    "Controller",
    "CreateVolume",
    createVolumeRequest("hostile-target", { required: 2n * MiB }),
  );
  expect(created.code, created.message).toBe(status.OK);
  volumeId = volumeIdOf(created);
});

afterAll(async () => {
  await driver?.stop();
  await sim?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it("CreateVolume names: hashed into ids, never sent to the RDS; too long is INVALID_ARGUMENT", async () => {
  await fc.assert(
    fc.asyncProperty(hostileString, async (name) => {
      const tooLong = Buffer.byteLength(name, "utf8") > 128;
      const allowed = tooLong ? [status.INVALID_ARGUMENT] : [status.OK, status.INVALID_ARGUMENT];
      const outcome = await expectOneOf(
        "Controller",
        "CreateVolume",
        createVolumeRequest(name, { required: 2n * MiB }),
        allowed,
      );
      if (outcome.code !== status.OK) return;
      const id = volumeIdOf(outcome);
      expect(id).toMatch(VOLUME_ID);
      await expectOneOf("Controller", "DeleteVolume", { volume_id: id, secrets: {} }, [status.OK]);
    }),
    { ...runs(15), examples: [[""], ["$[/disk remove [find]]"], ['"; /disk remove [find]; "']] },
  );
});

it("class parameters: unknown keys are INVALID_ARGUMENT, sidecar keys are accepted and ignored", async () => {
  await fc.assert(
    fc.asyncProperty(hostileString, hostileString, fc.boolean(), async (key, value, sidecar) => {
      const parameters = { [sidecar ? `${SIDECAR_PREFIX}${key}` : key]: value };
      const expected = [sidecar ? status.OK : status.INVALID_ARGUMENT];
      const volume = createVolumeRequest("hostile-parameters", { required: 2n * MiB, parameters });
      await expectOneOf("Controller", "CreateVolume", volume, expected);
      const snapshot = { ...createSnapshotRequest("hostile-parameters", volumeId), parameters };
      await expectOneOf("Controller", "CreateSnapshot", snapshot, expected);
      await expectOneOf("Controller", "GetCapacity", capacityRequest(parameters), expected);
      // Validation answers with a verdict, not an error, for a well-formed request.
      const context = { [key]: value };
      const validate = validateRequest(volumeId, {
        volume_context: context,
        parameters,
        mutable_parameters: context,
      });
      await expectOneOf("Controller", "ValidateVolumeCapabilities", validate, [status.OK]);
    }),
    runs(25),
  );
});

it("volume, snapshot and source ids: unknown is NOT_FOUND or an idempotent OK, empty is INVALID_ARGUMENT", async () => {
  await fc.assert(
    fc.asyncProperty(hostileString, async (id) => {
      const empty = id === "";
      const missing = empty ? [status.INVALID_ARGUMENT] : [status.NOT_FOUND];
      const gone = empty ? [status.INVALID_ARGUMENT] : [status.OK];
      await expectOneOf("Controller", "DeleteVolume", { volume_id: id, secrets: {} }, gone);
      await expectOneOf("Controller", "DeleteSnapshot", { snapshot_id: id, secrets: {} }, gone);
      await expectOneOf("Controller", "ControllerExpandVolume", expandVolumeRequest(id, 4n * MiB), missing);
      await expectOneOf("Controller", "ValidateVolumeCapabilities", validateRequest(id), missing);
      await expectOneOf("Controller", "CreateSnapshot", createSnapshotRequest("hostile-source", id), missing);
      const restore = { type: "snapshot" as const, snapshot: { snapshot_id: id } };
      await expectOneOf(
        "Controller",
        "CreateVolume",
        createVolumeRequest("hostile-restore", { source: restore }),
        missing,
      );
      const clone = { type: "volume" as const, volume: { volume_id: id } };
      await expectOneOf(
        "Controller",
        "CreateVolume",
        createVolumeRequest("hostile-clone", { source: clone }),
        missing,
      );
      for (const filter of [{ snapshot_id: id }, { source_volume_id: id }]) {
        const listed = await expectOneOf("Controller", "ListSnapshots", listSnapshotsRequest(filter), [
          status.OK,
        ]);
        if (!empty) expect(listed.response?.entries, `ListSnapshots ${JSON.stringify(filter)}`).toEqual([]);
      }
    }),
    { ...runs(30), examples: [[""]] },
  );
});

it("ListSnapshots starting_token: anything not handed out is ABORTED", async () => {
  await fc.assert(
    fc.asyncProperty(hostileString, async (token) => {
      const request = listSnapshotsRequest({ max_entries: 1, starting_token: token });
      await expectOneOf("Controller", "ListSnapshots", request, [status.ABORTED]);
    }),
    { ...runs(30), examples: [["v1."], ["v1.snap-"], ["v1.$[/disk remove [find]]"]] },
  );
});

function secretsFrom(key: string, hostile: string): Record<string, string> {
  const { value, token } = secretValue(hostile);
  secretTokens.push(token);
  return { [key]: value, "csi.storage.k8s.io/provisioner-secret-name": value };
}

it("secrets of every RPC that carries them are ignored and never logged", async () => {
  await fc.assert(
    fc.asyncProperty(hostileString, hostileString, async (key, hostile) => {
      const secrets = () => secretsFrom(key, hostile);
      const ok = [status.OK];
      const volume = createVolumeRequest("hostile-secrets", { required: 2n * MiB });
      await expectOneOf("Controller", "CreateVolume", { ...volume, secrets: secrets() }, ok);
      const snapshot = createSnapshotRequest("hostile-secrets", volumeId);
      await expectOneOf("Controller", "CreateSnapshot", { ...snapshot, secrets: secrets() }, ok);
      await expectOneOf("Controller", "ListSnapshots", listSnapshotsRequest({ secrets: secrets() }), ok);
      const expand = expandVolumeRequest(volumeId, 2n * MiB, { secrets: secrets() });
      await expectOneOf("Controller", "ControllerExpandVolume", expand, ok);
      const validate = validateRequest(volumeId, { secrets: secrets() });
      await expectOneOf("Controller", "ValidateVolumeCapabilities", validate, ok);
      await expectOneOf(
        "Controller",
        "DeleteSnapshot",
        { snapshot_id: `${hostile}-gone`, secrets: secrets() },
        ok,
      );
      await expectOneOf(
        "Controller",
        "DeleteVolume",
        { volume_id: `${hostile}-gone`, secrets: secrets() },
        ok,
      );
      const staging = path.join(scratch, "never-staged");
      const target = path.join(scratch, "never-published");
      const common = { volume_id: volumeId, staging_target_path: staging, secrets: secrets() };
      const stage = stageRequest({ ...common, volume_context: { transport: hostile } });
      await expectOneOf("Node", "NodeStageVolume", stage, [status.INVALID_ARGUMENT]);
      const publish = publishRequest({ ...common, target_path: target });
      await expectOneOf("Node", "NodePublishVolume", publish, [status.FAILED_PRECONDITION, status.NOT_FOUND]);
      const grow = nodeExpandRequest({ ...common, volume_path: target });
      await expectOneOf("Node", "NodeExpandVolume", grow, [status.NOT_FOUND, status.FAILED_PRECONDITION]);
    }),
    runs(10),
  );
});

it("node paths and volume_context: refused or unknown, nothing mounted, attached or created outside the scratch directory", async () => {
  const transports = fc.constantFrom("loop", "nvme-tcp", "");
  const property = fc.asyncProperty(
    hostileString,
    hostileString,
    transports,
    fc.boolean(),
    async (part, value, transport, inPool) => {
      const staging = `${scratch}/staging/${part}`;
      const target = `${scratch}/target/${part}`;
      const volume_context = {
        transport: transport === "" ? value : transport,
        backingFile: inPool ? `${sim.poolMountPath}/${value}` : value,
        nvmeAddress: value,
        nvmePort: value,
        nqn: value,
      };
      const ids = { volume_id: part, staging_target_path: staging };
      const refused = [status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION];
      await expectOneOf("Node", "NodeStageVolume", stageRequest({ ...ids, volume_context }), refused);
      const publish = publishRequest({ ...ids, target_path: target, volume_context });
      await expectOneOf("Node", "NodePublishVolume", publish, refused);
      await expectOneOf("Node", "NodeGetVolumeStats", statsRequest({ ...ids, volume_path: target }), refused);
      await expectOneOf(
        "Node",
        "NodeExpandVolume",
        nodeExpandRequest({ ...ids, volume_path: target }),
        refused,
      );
      const unpublish = { volume_id: part, target_path: target };
      await expectOneOf("Node", "NodeUnpublishVolume", unpublish, [status.OK, ...refused]);
      await expectOneOf("Node", "NodeUnstageVolume", ids, [status.OK, ...refused]);
    },
  );
  await fc.assert(property, runs(25));
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.includes(scratch) || line.includes(MARKER));
  expect(mounts).toEqual([]);
});

/** "ok", or why Probe from a client that never sent anything hostile got no answer. */
async function probeWithNewClient(): Promise<string> {
  const client = new CsiClient(driver.endpoint);
  try {
    await client.call("Identity", "Probe", {}, OVERSIZED_DEADLINE_MS);
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    client.close();
  }
}

/** A status message is a sentence for a person, not an echo of the request. */
const MAX_STATUS_MESSAGE = 4096;
/** Long enough for any refusal on a loaded machine; an answer that takes longer is not coming. */
const OVERSIZED_DEADLINE_MS = 4_000;

it("oversized values (300 KB) in every string field: refused with a short message, and the driver keeps serving", {
  timeout: 1_800_000,
}, async () => {
  const problems: string[] = [];
  const rows: Row[] = [];
  const context = { scratch, volumeId, poolMountPath: sim.poolMountPath, secrets: secretsFrom };
  for (const field of oversizedFields(context)) {
    const found: string[] = [];
    const outcome = await driver.attempt(
      field.service,
      field.method,
      field.request(oversized()),
      OVERSIZED_DEADLINE_MS,
    );
    const probe = await probeWithNewClient();
    const said = `${status[outcome.code]} (${outcome.message.length} characters)`;
    if (!field.allowed.includes(outcome.code)) found.push(`${field.label}: answered ${said}`);
    else if (outcome.message.length > MAX_STATUS_MESSAGE)
      found.push(`${field.label}: message of ${outcome.message.length} characters`);
    const serving = probe === "ok" && driver.running;
    if (!serving) {
      found.push(`${field.label}: afterwards the driver no longer answered Probe (${probe.slice(0, 80)})`);
      // Start a new process so one broken field does not hide what the others do.
      await driver.kill();
      await driver.start();
    }
    problems.push(...found);
    rows.push({
      cells: [field.label, said, serving ? "yes" : "NO"],
      passed: found.length === 0,
      problems: found,
    });
  }
  console.log(formatTable("oversized values", ["field", "answer", "still serving"], rows));
  expect(problems).toEqual([]);
});

it("nothing hostile reached the RDS, no $ was evaluated, no secret was logged, every log line is one JSON record", async () => {
  const commands = await sim.control.commands(0);
  expect(commands.length, "the driver did talk to the emulator").toBeGreaterThan(0);
  expect(commands.filter((c) => c.line.includes(MARKER)).map((c) => c.line)).toEqual([]);
  expect(await sim.control.injections(0)).toEqual([]);

  expect(secretTokens.length).toBeGreaterThan(0);
  const log = driver.lines.join("\n");
  expect(log, "the debug log holds the requests").toContain('"request"');
  expect(secretTokens.filter((token) => log.includes(token))).toEqual([]);
  expect(log.includes(passphrase), "passphrase logged").toBe(false);
  const keyBody = privateKeyText.split("\n").filter((l) => l.length >= 32 && !l.startsWith("-----"));
  expect(keyBody.length).toBeGreaterThan(0);
  expect(keyBody.filter((l) => log.includes(l))).toEqual([]);

  const notJson = driver.stdout.filter((line) => {
    try {
      return typeof JSON.parse(line) !== "object";
    } catch {
      return true;
    }
  });
  expect(notJson.slice(0, 5)).toEqual([]);
});
