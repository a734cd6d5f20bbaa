import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedWhere } from "../../src/sim/schema.js";
import { bool, itemId, NIL, num, type RosValue, str } from "../../src/sim/values.js";
import { type PropLookup, whereMatches } from "../../src/sim/where-eval.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { fakeWorld } from "./fake-world.js";

/**
 * A client asks for a page of items by name: `where (name="a") or (name="b") or …`, a hundred
 * names. The emulator tests such an `or` of equalities as one membership test and looks the names
 * up directly (`/file`: one lstat each, in batches); its answers must be exactly the full scan's
 * and the term-by-term reading's, with names that do not exist, duplicates and other conditions
 * mixed in.
 */

/** The plain reading of a condition: every term tested on its own, `and`/`or` as written. */
function termByTerm(node: ResolvedWhere, lookup: PropLookup): boolean {
  switch (node.kind) {
    case "and":
      return termByTerm(node.left, lookup) && termByTerm(node.right, lookup);
    case "or":
      return termByTerm(node.left, lookup) || termByTerm(node.right, lookup);
    case "not":
      return !termByTerm(node.inner, lookup);
    case "is":
      return termByTerm(node.inner, lookup) === node.expect;
    default:
      return whereMatches(node, lookup);
  }
}

describe("an or of equalities", () => {
  it("matches exactly the items the term-by-term reading matches (random conditions and items)", () => {
    const next = seededRandom(41);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const texts = ["a", "b", "c", "10", "0x1", "yes", "true", "*1", "*A", "", "1k"];
    const values: Array<RosValue | undefined> = [
      ...texts.map(str),
      num(10),
      num(1024),
      bool(true),
      bool(false),
      itemId(1),
      itemId(10),
      NIL,
      undefined,
    ];
    const props = ["name", "size", "flag", ".id", "gone"];
    const compare = (): ResolvedWhere => ({
      kind: "compare",
      prop: pick(props),
      op: next() < 0.7 ? "=" : pick(["!=", "<", ">=", "~"]),
      value: pick(values),
      col: 1,
    });
    const condition = (depth: number): ResolvedWhere => {
      const roll = next();
      if (depth > 3 || roll < 0.3) return compare();
      if (roll < 0.7) {
        // A long left-nested chain, as a client writes a page of names.
        let chain = condition(depth + 1);
        for (let i = Math.floor(next() * 12); i > 0; i--)
          chain = { kind: "or", left: chain, right: next() < 0.8 ? compare() : condition(depth + 1) };
        return chain;
      }
      if (roll < 0.85) return { kind: "and", left: condition(depth + 1), right: condition(depth + 1) };
      if (roll < 0.93) return { kind: "not", inner: condition(depth + 1) };
      return { kind: "is", inner: condition(depth + 1), expect: next() < 0.5 };
    };
    const item = (): PropLookup => {
      const own = new Map<string, RosValue | undefined>([
        ["name", pick([...texts.map(str), NIL])],
        ["size", pick([num(10), num(1024), str("10"), undefined])],
        ["flag", pick([bool(true), bool(false)])],
        [".id", pick([itemId(1), itemId(10)])],
      ]);
      return (prop) => own.get(prop);
    };
    const items = Array.from({ length: 40 }, item);
    let matched = 0;
    let tested = 0;
    for (let i = 0; i < 600; i++) {
      const where = condition(0);
      for (const lookup of items) {
        const expected = termByTerm(where, lookup);
        expect(whereMatches(where, lookup)).toBe(expected);
        if (expected) matched++;
        tested++;
      }
    }
    // Both answers occur often: the comparison is not between two constant readings.
    expect(matched).toBeGreaterThan(tested / 10);
    expect(matched).toBeLessThan((tested * 9) / 10);
  });
});

/** A RouterOS string literal: quotes, backslashes, `$` and `?` escaped. */
const ros = (s: string) => `"${s.replace(/[\\"$?]/g, (c) => `\\${c}`)}"`;

let root: string;
const images: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "name-pages-"));
  // More images than one batch of lstat calls, spread over folders made in a shuffled order.
  const next = seededRandom(7);
  const volumes = ["v3", "v1", "v.2", "a+b"];
  for (const v of volumes) mkdirSync(join(root, "snaps", v), { recursive: true });
  const order = Array.from({ length: 180 }, (_, i) => i).sort(() => next() - 0.5);
  for (const i of order) {
    const dir = join(
      "snaps",
      volumes[i % volumes.length] as string,
      `snap-${i.toString(16).padStart(3, "0")}`,
    );
    mkdirSync(join(root, dir));
    writeFileSync(join(root, dir, "disk.img"), "x".repeat(i));
    images.push(`raid1/${dir}/disk.img`);
  }
  writeFileSync(join(root, "snaps", "v1", "note"), "a note");
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("/file by a page of names equals the full scan", () => {
  const page = (names: readonly string[]) => names.map((n) => `(name=${ros(n)})`).join(" or ");

  function conditions(): string[] {
    const next = seededRandom(3);
    const some = (n: number) =>
      Array.from({ length: n }, () => images[Math.floor(next() * images.length)] as string);
    const missing = [
      "raid1/snaps/v1/snap-fff/disk.img",
      "raid2/snaps/v1/x",
      "raid1/nothing",
      "raid1/snaps/v9",
    ];
    const otherForms = [
      `/${images[0]}`,
      `${images[1]}/`,
      (images[2] as string).replace("/snaps/", "//snaps/"),
      (images[3] as string).replace("/snaps/", "/./snaps/"),
      "raid1/snaps/v1/../v1/note",
    ];
    return [
      page(some(100)),
      // Every image: more than one batch of lstat calls.
      page(images),
      page([...some(20), ...missing, ...otherForms]),
      // Duplicates, folders, the pool itself and a plain file.
      page([...some(10), ...some(10), images[5] as string, images[5] as string]),
      page(["raid1", "raid1/snaps", "raid1/snaps/v.2", "raid1/snaps/v1/note", ...some(5)]),
      // Mixed with other conditions, on either side.
      `(${page(some(30))}) and type="file"`,
      `(${page(some(30))}) and size>100`,
      `type="directory" and (${page(["raid1/snaps/v1", ...some(10)])})`,
      `${page(some(10))} or name~"^raid1/snaps/v1/"`,
      `${page(some(10))} or type="directory"`,
      `${page(some(10))} or size=20`,
      `!(${page(some(10))}) and name~"^raid1/snaps/v3/"`,
      `(${page(some(10))})=false and name~"^raid1/snaps/a"`,
      `(name=${ros(images[7] as string)} or name=${ros(images[8] as string)}) and (name=${ros(images[8] as string)} or name=${ros(images[9] as string)})`,
      page(missing),
    ];
  }

  async function answers(run: (line: string, width?: number) => Promise<string>, condition: string) {
    const lines = [
      `:put [:serialize to=json [/file print detail as-value proplist=name,type,size,last-modified where ${condition}]]`,
      `:put [:serialize to=json [/file print as-value where ${condition}]]`,
      `:put [/file find where ${condition}]`,
      `/file print count-only where ${condition}`,
    ];
    const out: string[] = [];
    for (const line of lines) out.push(await run(line, 0).catch((e: unknown) => `error: ${String(e)}`));
    return out;
  }

  for (const settings of [
    {},
    { file_print_order: "alphabetical" },
    { file_id_form: "star-hex", proplist_keeps_id: false },
  ]) {
    it(`in the same order, with the same ids and properties (${JSON.stringify(settings)})`, async () => {
      const w = fakeWorld({ mountPath: root });
      w.setSettings(settings);
      let nonEmpty = 0;
      for (const [i, condition] of conditions().entries()) {
        // Either answer first: ids are given on first sight, so both orders are compared.
        const full = `(${condition})=true`;
        const [first, second] = i % 2 === 0 ? [`(${condition})`, full] : [full, `(${condition})`];
        const a = await answers(w.run, first);
        expect(a, condition).toEqual(await answers(w.run, second));
        if (a[0] !== "[]\n") nonEmpty++;
      }
      expect(nonEmpty).toBeGreaterThan(10);
    });
  }

  it("answers every existing name once, in the pool's walk order, and nothing for the others", async () => {
    const w = fakeWorld({ mountPath: root });
    const wanted = [...images.slice(0, 150), images[3] as string, "raid1/snaps/v1/snap-fff/disk.img"];
    const out = await w.run(
      `:put [:serialize to=json [/file print as-value proplist=name,size where ${page(wanted)}]]`,
      0,
    );
    const names = (JSON.parse(out) as Array<{ name: string }>).map((i) => i.name);
    expect(new Set(names)).toEqual(new Set(images.slice(0, 150)));
    expect(names).toHaveLength(150);
    // The whole listing's order, narrowed to the page.
    const all = await w.run(":put [:serialize to=json [/file print as-value proplist=name]]", 0);
    const order = (JSON.parse(all) as Array<{ name: string }>).map((i) => i.name);
    expect(names).toEqual(order.filter((n) => names.includes(n)));
  });
});

describe("a record of listed properties", () => {
  const subvolumes = [256, 257, 258].map((id, i) => ({
    id,
    generation: BigInt(id),
    topLevel: 5,
    path: i === 0 ? "rds" : `rds/s${i}`,
    uuid: `00000000-0000-4000-8000-${String(id).padStart(12, "0")}`,
    parentUuid: i === 2 ? "00000000-0000-4000-8000-000000000256" : undefined,
    receivedUuid: undefined,
    readOnly: i === 2,
    creationTime: "2026-12-05 10:00:00",
  }));

  it("is the whole record narrowed to them, keys in the same order (flags, hidden and unknown names too)", async () => {
    const w = fakeWorld({ mountPath: root, subvolumes });
    const lists = [
      "name,fullname,read-only,creation-time",
      "read-only,snapshot,parent-uuid,name",
      "name,name,.id,fs",
      "nothing,name",
      "size,type,name,last-modified,contents",
      "dead,default,mounted,received-uuid",
    ];
    let keys = 0;
    for (const settings of [{}, { proplist_keeps_id: false }]) {
      w.setSettings(settings);
      for (const menu of ["/disk/btrfs/subvolume", "/file"]) {
        const whole = JSON.parse(
          await w.run(`:put [:serialize to=json [${menu} print as-value]]`, 0),
        ) as Array<Record<string, unknown>>;
        for (const list of lists) {
          const picked = JSON.parse(
            await w.run(`:put [:serialize to=json [${menu} print as-value proplist=${list}]]`, 0),
          ) as Array<Record<string, unknown>>;
          const names = list.split(",");
          const keepsId = !("proplist_keeps_id" in settings) || names.includes(".id");
          const narrowed = whole.map((record) =>
            Object.fromEntries(
              Object.entries(record).filter(([k]) => (k === ".id" ? keepsId : names.includes(k))),
            ),
          );
          // Key order matters to a reader of the JSON text: compare the entries, not the objects.
          expect(picked.map(Object.entries), `${menu} ${list}`).toEqual(narrowed.map(Object.entries));
          keys += picked.reduce((n, r) => n + Object.keys(r).length, 0);
        }
      }
    }
    expect(keys).toBeGreaterThan(500);
  });
});
