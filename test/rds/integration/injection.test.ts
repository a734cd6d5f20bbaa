import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RdsClient } from "../../../src/rds/client.js";
import { findWhere, printJsonCommand, setCommand, value, where } from "../../../src/rds/command.js";
import { isRdsError } from "../../../src/rds/errors.js";
import { parseJsonRecords } from "../../../src/rds/parse/json.js";
import { decodeDisk } from "../../../src/rds/records.js";
import { CommandRunner } from "../../../src/rds/runner.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections, MiB } from "./support.js";

let sim: SimFixture;
let client: RdsClient;
let runner: CommandRunner;
const connections = new Connections(() => sim);
const SLOT = "pvc-injection";

beforeAll(async () => {
  sim = await startSim({ size: "512M" });
  const opened = connections.client({ listingForm: "json" });
  client = opened.client;
  runner = new CommandRunner(opened.connection);
  await client.addDirectory(`${sim.pool}/inj`);
  await client.addFileDisk({ slot: SLOT, filePath: `/${sim.pool}/inj/disk.img`, fileSize: MiB });
  await sim.control.clearLogs("injections");
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
});

/** Pieces that mean something to RouterOS inside or outside quotes. */
const hostilePiece = fc.constantFrom(
  '"',
  "\\",
  "$",
  "$x",
  "$[/system reboot]",
  "$[/disk remove [find]]",
  "$(1+1)",
  '$("a")',
  ";",
  "; /disk remove [find]",
  "?",
  "[find]",
  "{",
  "}",
  "'",
  "`",
  "#",
  "=",
  " ",
  "\\$",
  '\\"',
  "\\\\",
  "\\_",
  "\\41",
  "/",
  ":",
  "~",
  "é",
  "žluťoučký",
  "日本語",
  "🚀",
  "\u00a0",
);
const hostileValue = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(fc.oneof(hostilePiece, fc.string({ maxLength: 4 })), { maxLength: 12 })
      .map((p) => p.join("")),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 900, maxLength: 1200 }) },
);

/** Sends `text` as a comment and as a where value; returns what came back, or "refused". */
async function roundTrip(text: string): Promise<{ stored: string | null; matched: number } | "refused"> {
  try {
    await runner.run(
      setCommand("/disk", findWhere(where.eq("slot", SLOT)), [["comment", value.string(text, "comment")]]),
    );
    const stored = (await client.getDisk(SLOT))?.comment ?? null;
    const found = parseJsonRecords(await runner.run(printJsonCommand("/disk", where.eq("comment", text))));
    return { stored, matched: found.map(decodeDisk).filter((d) => d.slot === SLOT).length };
  } catch (err) {
    if (isRdsError(err, "invalid-input") && err.routerText === undefined) return "refused";
    throw err;
  }
}

describe("quoting against the emulator", () => {
  it("property: every value is refused before sending, or round-trips exactly without evaluating anything", async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, async (text) => {
        const result = await roundTrip(text);
        if (result === "refused") {
          // Only control characters, unpaired surrogates and oversize values are refused.
          expect(
            /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udfff]/.test(text) || Buffer.byteLength(text) > 1024,
          ).toBe(true);
          return;
        }
        expect(result.stored).toBe(text === "" ? null : text);
        // `where comment=""` should select items without a comment (reference §1.5); the emulator
        // selects none, so the empty value is only checked as a stored comment.
        if (text !== "") expect(result.matched).toBe(1);
      }),
      {
        numRuns: 40,
        examples: [["$[/system reboot]"], ['"; /disk remove [find]; :put "'], ["\\"], ["a?b"], [""]],
      },
    );
    expect(await sim.control.injections()).toEqual([]);
    expect(await client.getDisk(SLOT)).not.toBeNull();
  });

  it("the emulator does log an injection when a value is not escaped (the check is live)", async () => {
    const out = await sim.control.exec(`/disk set [find where slot="${SLOT}"] comment="x$[:put 1]"`);
    expect(out.error).toBeNull();
    const events = await sim.control.injections();
    expect(events.length).toBeGreaterThan(0);
    await sim.control.clearLogs("injections");
  });
});
