import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, startSim } from "../helpers/sim.js";

/**
 * The emulator answers `/file` queries by name, id or prefix by reading only those paths; these
 * answers must equal what the whole-pool listing gives, also for files made behind its back.
 */
let sim: SimFixture;
const POOL = "raid1";

beforeAll(async () => {
  sim = await startSim({ size: "512M" });
});
afterAll(async () => {
  await sim?.stop();
});

async function run(line: string): Promise<string> {
  // Width 0: `:put` does not wrap, so each JSON reply is one line.
  const result = await sim.control.exec(line, 0);
  if (result.error !== undefined && result.error !== null) throw new Error(`${line}: ${result.error}`);
  return result.output;
}

const json = (what: string) => `:put [:serialize to=json [/file print as-value ${what}]]`;

/** Made directly on the host, never through the emulator. */
function behindItsBack(relative: string, contents = "x"): void {
  const host = join(sim.poolMountPath, relative);
  mkdirSync(join(host, ".."), { recursive: true });
  writeFileSync(host, contents);
}

describe("/file lookups read only what the condition names", () => {
  it("name= and name= or name= equal the whole-pool listing filtered, in order, for files made behind its back", async () => {
    behindItsBack("t1/b/disk.img", "hello");
    behindItsBack("t1/a/disk.img", "hi");
    behindItsBack("t1/a/z/deeper.img");
    const names = [
      `${POOL}/t1/b/disk.img`,
      `${POOL}/t1/a/z/deeper.img`,
      `${POOL}/t1/a/disk.img`,
      `${POOL}/t1/none`,
    ];
    const scoped = await run(json(`where ${names.map((n) => `name="${n}"`).join(" or ")}`));
    // `!(name!=…)` says the same but names nothing the emulator can look up: the whole pool is read.
    const whole = await run(json(`where ${names.map((n) => `!(name!="${n}")`).join(" or ")}`));
    expect(scoped).toBe(whole);
    const items = JSON.parse(scoped) as Array<Record<string, unknown>>;
    // RouterOS 7.2x lists a folder in no alphabetical order: here as created (t1/b first).
    expect(items.map((i) => i.name)).toEqual([
      `${POOL}/t1/b/disk.img`,
      `${POOL}/t1/a/disk.img`,
      `${POOL}/t1/a/z/deeper.img`,
    ]);
    expect(items[1]?.size).toBe(2);
    // Small text files carry their contents in a listing without proplist.
    expect(items[0]?.contents).toBe("hello");
    await sim.control.setSettings({ file_print_order: "alphabetical" });
    try {
      const sorted = await run(json(`where ${names.map((n) => `name="${n}"`).join(" or ")}`));
      expect(sorted).toBe(await run(json(`where ${names.map((n) => `!(name!="${n}")`).join(" or ")}`)));
      expect((JSON.parse(sorted) as Array<Record<string, unknown>>).map((i) => i.name)).toEqual([
        `${POOL}/t1/a/disk.img`,
        `${POOL}/t1/b/disk.img`,
        `${POOL}/t1/a/z/deeper.img`,
      ]);
    } finally {
      await sim.control.setSettings({ file_print_order: "creation" });
    }
  });

  it("a file changed or removed behind its back is seen at the next lookup", async () => {
    behindItsBack("t2/f.img", "12345");
    const q = json(`where name="${POOL}/t2/f.img"`);
    expect(JSON.parse(await run(q))[0].size).toBe(5);
    writeFileSync(join(sim.poolMountPath, "t2/f.img"), "1234567");
    expect(JSON.parse(await run(q))[0].size).toBe(7);
    rmSync(join(sim.poolMountPath, "t2/f.img"));
    expect(JSON.parse(await run(q))).toEqual([]);
  });

  it('a prefix (name~"^…") reads the directory that holds it and equals the whole-pool answer', async () => {
    behindItsBack("t3/p/one.img");
    behindItsBack("t3/p/q/two.img");
    behindItsBack("t3/pq/three.img");
    for (const prefix of [`${POOL}/t3/p/`, `${POOL}/t3/p`, `${POOL}/t3/`, `${POOL}/t`, "rai", ""]) {
      const escaped = prefix.replaceAll(".", "[.]");
      const scoped = await run(json(`where name~"^${escaped}"`));
      // `(…)=true` says the same but names nothing the emulator can look up: the whole pool is read.
      const whole = await run(json(`where (name~"^${escaped}")=true`));
      expect(scoped).toBe(whole);
    }
    const under = JSON.parse(await run(json(`where name~"^${POOL}/t3/p/"`))) as Array<{ name: string }>;
    expect(under.map((i) => i.name)).toEqual([
      `${POOL}/t3/p/one.img`,
      `${POOL}/t3/p/q`,
      `${POOL}/t3/p/q/two.img`,
    ]);
  });

  it("get and remove through [find where name=…] act on files made behind its back; unknown ids stay errors", async () => {
    behindItsBack("t4/g.img", "abc");
    expect((await run(`:put [/file get [find where name="${POOL}/t4/g.img"] size]`)).trim()).toBe("3");
    const id = JSON.parse(await run(json(`where name="${POOL}/t4/g.img"`)))[0][".id"] as string;
    // RouterOS 7.2x `/file` ids are opaque, with a space inside: quoted in a condition.
    expect(id).toMatch(/^\*\*[0-9A-Za-z]{8} [0-9A-Za-z]+$/);
    expect(JSON.parse(await run(json(`where .id="${id}"`)))[0].name).toBe(`${POOL}/t4/g.img`);
    expect((await run(`:put [/file get [find .id="${id}"] name]`)).trim()).toBe(`${POOL}/t4/g.img`);
    const guessed = `${id.slice(0, 2)}${id[2] === "a" ? "b" : "a"}${id.slice(3)}`;
    expect((await sim.control.exec(json(`where .id="${guessed}"`))).error).toMatch(/^expected item id/);
    await run(`/file remove [find where name="${POOL}/t4/g.img"]`);
    expect(JSON.parse(await run(json(`where name="${POOL}/t4/g.img"`)))).toEqual([]);
    const unknown = await sim.control.exec(json("where .id=*99999"));
    const wholeUnknown = await sim.control.exec(`/file print where .id=*99999`);
    expect(unknown.error).toMatch(/^expected item id/);
    expect(wholeUnknown.error).toMatch(/^expected item id/);
  });
});
