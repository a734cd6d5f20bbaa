import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RdsClient } from "../../../src/rds/client.js";
import { isRdsError } from "../../../src/rds/errors.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections } from "./support.js";

let sim: SimFixture;
const connections = new Connections(() => sim);
let client: RdsClient;

beforeAll(async () => {
  // Every storage failure in words no classifier pattern knows (settings profile `alternative`).
  sim = await startSim({ size: "512M", settings: { error_texts: "alternative" } });
  ({ client } = connections.client({}, { loginOptions: "cet512w" }));
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
});

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isRdsError(err)) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("failures in unknown words, explained by the state", () => {
  it("a folder or file already there is already-exists, a missing parent not-found", async () => {
    await client.addDirectory(`/${sim.pool}/w`);
    const again = await failure(client.addDirectory(`/${sim.pool}/w`));
    expect(again).toMatchObject({ kind: "already-exists" });
    expect(again.routerText).toBe("failure: file with this name is present");
    expect(await failure(client.addDirectory(`/${sim.pool}/none/deeper`))).toMatchObject({
      kind: "not-found",
    });
  });

  it("a subvolume already there, a disk slot taken", async () => {
    await client.createSubvolume({ fs: sim.fsLabel, fullname: "w/sv" });
    expect(await failure(client.createSubvolume({ fs: sim.fsLabel, fullname: "w/sv" }))).toMatchObject({
      kind: "already-exists",
      routerText: "failure: subvolume with this name is present",
    });
    await client.addFileDisk({
      slot: "pvc-w",
      filePath: `/${sim.pool}/w/sv/disk.img`,
      fileSize: 1024n * 1024n,
    });
    expect(
      await failure(
        client.addFileDisk({
          slot: "pvc-w",
          filePath: `/${sim.pool}/w/sv/other.img`,
          fileSize: 1024n * 1024n,
        }),
      ),
    ).toMatchObject({ kind: "already-exists", routerText: "failure: slot name is taken" });
  });

  it("a folder that still holds entries is refused as invalid input; a full pool is no-space", async () => {
    await client.addDirectory(`/${sim.pool}/w/full`);
    await client.addDirectory(`/${sim.pool}/w/full/inner`);
    expect(await failure(client.removeFile(`/${sim.pool}/w/full`))).toMatchObject({
      kind: "invalid-input",
      routerText: "failure: folder has entries",
    });
    await sim.control.poolFull(true);
    try {
      expect(await failure(client.createSubvolume({ fs: sim.fsLabel, fullname: "w/sv2" }))).toMatchObject({
        kind: "no-space",
        routerText: "failure: storage full",
      });
    } finally {
      await sim.control.poolFull(false);
    }
  });

  it("keeps a failure the state cannot explain as a protocol error", async () => {
    await sim.control.addFault({
      match: "subvolume add",
      action: "fail",
      error: "failure: something new",
      times: 1,
    });
    expect(await failure(client.createSubvolume({ fs: sim.fsLabel, fullname: "w/sv3" }))).toMatchObject({
      kind: "protocol",
    });
  });

  it("fails as transient, not as the change's refusal, when the state cannot be read to explain it", async () => {
    await client.addDirectory(`/${sim.pool}/w/held`);
    await client.addDirectory(`/${sim.pool}/w/held/inner`);
    // The remove is refused in unknown words; the read that would explain it fails too.
    await sim.control.addFault({
      match: "^:put .*/file print",
      action: "fail",
      error: "failure: injected fault",
      times: 1,
    });
    const err = await failure(client.removeFile(`/${sim.pool}/w/held`));
    expect(err).toMatchObject({
      kind: "transient",
      retryable: true,
      routerText: "failure: folder has entries",
    });
    expect(err.command).toMatch(/^\/file remove /);
    expect(await sim.control.listFaults()).toEqual([]);
    // Once the state can be read again, the same refusal is explained.
    expect(await failure(client.removeFile(`/${sim.pool}/w/held`))).toMatchObject({ kind: "invalid-input" });
  });
});
