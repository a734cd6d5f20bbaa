import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { controllerArgs, DriverProcess } from "../reliability/driver-process.js";

/*
 * SIGTERM ends the driver in bounded time whatever is in flight: a pod's terminationGracePeriod
 * is 30 s by default, and a process that lets it run out is SIGKILLed mid-command.
 */

const MiB = 1024n * 1024n;
/** The driver's own bound, and the margin a loaded machine may add before the process is gone. */
const SHUTDOWN_BOUND_MS = 20_000;
const MARGIN_MS = 10_000;

let sim: SimFixture;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim?.stop();
});

describe("shutdown", () => {
  it("exits on SIGTERM while a RouterOS command is held far longer than the bound", async () => {
    const driver = new DriverProcess(controllerArgs(sim));
    try {
      await driver.start();
      // Every exec is held for two minutes: CreateVolume is in flight, its command unanswered.
      await sim.control.addFault({ match: "", action: "delay", ms: 120_000 });
      const inFlight = driver.attempt(
        "Controller",
        "CreateVolume",
        {
          name: "held-at-shutdown",
          capacity_range: { required_bytes: String(MiB), limit_bytes: "0" },
          volume_capabilities: [
            { access_mode: { mode: "SINGLE_NODE_WRITER" }, mount: { fs_type: "ext4", mount_flags: [] } },
          ],
          parameters: {},
          secrets: {},
        },
        150_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const ended = await driver.terminate(SHUTDOWN_BOUND_MS + MARGIN_MS);
      expect(ended.exitCode, `still running ${ended.ms} ms after SIGTERM`).not.toBeUndefined();
      await inFlight.catch(() => undefined);
    } finally {
      await sim.control.clearFaults();
      await driver.stop();
    }
  });
});
