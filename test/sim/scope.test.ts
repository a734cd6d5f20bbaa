import { describe, expect, it } from "vitest";
import { replaced, type Subvolume } from "../../src/sim/backend/btrfs.js";
import { regexPrefixes } from "../../src/sim/menus/regex-prefixes.js";
import { planScope, type ScopeLeaf, scopeOf } from "../../src/sim/menus/scope.js";
import type { ResolvedWhere } from "../../src/sim/schema.js";
import { str } from "../../src/sim/values.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { fakeWorld } from "./fake-world.js";

/**
 * The emulator answers a `where` from indexes (by id, by name and fullname, by prefix) instead of
 * testing every item: these answers must be exactly the full scan's, for any condition, also
 * after changes the index followed one by one or by comparing a listing re-read whole.
 */

describe("regexPrefixes", () => {
  it("expands anchored literals, classes, groups and ? into the prefixes a match starts with", () => {
    expect(regexPrefixes("^snap-(0[0-2]|03)")).toEqual(["snap-00", "snap-01", "snap-02", "snap-03"]);
    expect(regexPrefixes("^/?rds-csi/snaps/")).toEqual(["rds-csi/snaps/", "/rds-csi/snaps/"]);
    expect(regexPrefixes("^a\\.b[.]c")).toEqual(["a.b.c"]);
    expect(regexPrefixes("^x[4-9a-c]")).toHaveLength(9);
    // What follows the first construct it does not read only narrows the answer.
    expect(regexPrefixes("^snap.x")).toEqual(["snap"]);
    expect(regexPrefixes("^snap\\dx")).toEqual(["snap"]);
    expect(regexPrefixes("^sna*p")).toEqual(["sn"]);
    expect(regexPrefixes("^abc$")).toEqual(["abc"]);
    expect(regexPrefixes("^")).toEqual([""]);
    // A `|` inside a group or class after what was read chooses within it: the prefix still holds.
    expect(regexPrefixes("^a/b/[^/]+/(c|d)[|]")).toEqual(["a/b/"]);
  });

  it("gives nothing to look up for unanchored patterns, top-level alternatives and groups it cannot read", () => {
    expect(regexPrefixes("snap")).toBeUndefined();
    expect(regexPrefixes("^a|b")).toBeUndefined();
    expect(regexPrefixes("^a.|b")).toBeUndefined();
    expect(regexPrefixes("^a.(b|c)|d")).toBeUndefined();
    expect(regexPrefixes("^a.[|]|d")).toBeUndefined();
    expect(regexPrefixes("^(a*|b)")).toBeUndefined();
    expect(regexPrefixes("^a??")).toBeUndefined();
    // 16^4 prefixes are too many to look up one by one.
    expect(regexPrefixes("^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]")).toBeUndefined();
  });

  it("every text a pattern matches starts with one of its prefixes (random patterns and texts)", () => {
    const next = seededRandom(17);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const atoms = [
      "a",
      "b",
      ".",
      "\\.",
      "[ab]",
      "[a-c]",
      "[.]",
      "(a|b)",
      "(ab|)",
      "(a|b.)",
      "\\+",
      "+",
      "*",
      "?",
      "$",
      "|",
      "\\d",
      "(",
      ")",
      "[^a]",
      "{2}",
      "\\$",
    ];
    const alphabet = ["a", "b", "c", ".", "+", "$", "1", "/"];
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const pattern = `^${Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick(atoms)).join("")}`;
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        continue;
      }
      const prefixes = regexPrefixes(pattern);
      if (prefixes === undefined) continue;
      for (let j = 0; j < 50; j++) {
        const text = Array.from({ length: Math.floor(next() * 6) }, () => pick(alphabet)).join("");
        if (!re.test(text)) continue;
        checked++;
        expect(
          prefixes.some((p) => text.startsWith(p)),
          `${pattern} matches ${text}`,
        ).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe("scopeOf and planScope", () => {
  const eq = (prop: string, v: string, op = "="): ResolvedWhere => ({
    kind: "compare",
    prop,
    op,
    value: str(v),
    col: 1,
  });
  const and = (left: ResolvedWhere, right: ResolvedWhere): ResolvedWhere => ({ kind: "and", left, right });
  const or = (left: ResolvedWhere, right: ResolvedWhere): ResolvedWhere => ({ kind: "or", left, right });

  it("reads a condition's values, prefixes and ids; (…)=true, ! and an or with an open side name nothing", () => {
    expect(scopeOf(eq("name", "a"))).toEqual({ kind: "values", prop: "name", values: ["a"] });
    expect(scopeOf(or(eq("fullname", "a"), eq("fullname", "/a")))).toEqual({
      kind: "values",
      prop: "fullname",
      values: ["a", "/a"],
    });
    expect(scopeOf(eq("name", "^a(b|c)", "~"))).toEqual({
      kind: "prefixes",
      prop: "name",
      prefixes: ["ab", "ac"],
      pattern: "^a(b|c)",
    });
    expect(scopeOf(eq(".id", "*1f"))).toEqual({ kind: "ids", ids: [31] });
    expect(scopeOf({ kind: "is", inner: eq("name", "a"), expect: true })).toBeUndefined();
    expect(scopeOf({ kind: "not", inner: eq("name", "a") })).toBeUndefined();
    expect(scopeOf(or(eq("name", "a"), { kind: "truthy", prop: "snapshot" }))).toBeUndefined();
    expect(scopeOf(eq("name", "a", "!="))).toBeUndefined();
  });

  it("plans the cheapest conjunct, the union of alternatives, and everything when most would be read", () => {
    const counts: Record<string, number> = { fs: 1000, name: 3, fullname: 1 };
    const cost = (leaf: ScopeLeaf) => (leaf.kind === "ids" ? leaf.ids.length : counts[leaf.prop]);
    const where = and(
      or(eq("fs", "raid1"), eq("fs", "u")),
      and(eq("fullname", "^x", "~"), eq("name", "^y", "~")),
    );
    expect(planScope(scopeOf(where), cost)).toEqual([
      { kind: "prefixes", prop: "fullname", prefixes: ["x"], pattern: "^x" },
    ]);
    expect(planScope(scopeOf(or(eq("name", "a"), eq("fullname", "b"))), cost)).toHaveLength(2);
    expect(planScope(scopeOf(or(eq("name", "a"), eq("other", "b"))), cost)).toBeUndefined();
    expect(planScope(scopeOf(eq("name", "a")), cost, 6)).toBeUndefined();
    expect(planScope(scopeOf(eq("name", "a")), cost, 7)).toHaveLength(1);
  });
});

const uuidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

function subvolume(id: number, path: string, source?: Subvolume, topLevel = 5): Subvolume {
  return {
    id,
    generation: BigInt(id),
    topLevel,
    path,
    uuid: uuidOf(id),
    parentUuid: source?.uuid,
    receivedUuid: undefined,
    readOnly: source !== undefined,
    creationTime: "2026-12-05 10:00:00",
  };
}

/** Names with every regular-expression metacharacter, repeated names, nested and orphaned snapshots. */
function sampleListing(): Subvolume[] {
  const names = [
    "snap.1",
    "snap-1",
    "snapx1",
    "a+b",
    "a(b)",
    "[br]",
    "dol$ar",
    "q?",
    "st*r",
    "we|rd",
    "ca^ret",
    "br{2}",
    "sn",
  ];
  const vols = [subvolume(256, "rds"), subvolume(257, "rds/x", undefined, 256), subvolume(258, "rds/y")];
  const out = [...vols];
  let id = 300;
  for (const name of names) {
    out.push(subvolume(id++, `rds/x/${name}`, vols[1], 257));
    out.push(subvolume(id++, `rds/y/${name}`, vols[2]));
  }
  // A snapshot whose source is gone.
  out.push({ ...subvolume(id++, "rds/y/orphan"), parentUuid: uuidOf(9999), readOnly: true });
  return out;
}

/** A RouterOS string literal: quotes, backslashes, `$` and `?` escaped. */
const ros = (s: string) => `"${s.replace(/[\\"$?]/g, (c) => `\\${c}`)}"`;

const CONDITIONS = [
  ...["snap.1", "a+b", "dol$ar", "q?", "none", "we|rd"].map((n) => `name=${ros(n)}`),
  `name=${ros("a+b")} or name=${ros("dol$ar")}`,
  `fullname=${ros("rds/x/snap.1")}`,
  `fullname=${ros("/rds/x/snap.1")} or fullname=${ros("rds/x/snap.1")}`,
  `(fs="raid1" or fs="other") and fullname=${ros("rds/y/br{2}")}`,
  `name=${ros("snap.1")} and fullname~${ros("^rds/y/")}`,
  `name=${ros("snap.1")} or fs="raid1"`,
  `!(name=${ros("snap.1")})`,
  `.id=*12c or name=${ros("sn")}`,
  // An unknown id is an error, scoped or not.
  `.id=*fff or name=${ros("sn")}`,
  ...[
    "^snap",
    "^snap\\.1",
    "^snap.1",
    "^a\\+b",
    "^a\\(b\\)",
    "^\\[br\\]",
    "^dol\\$ar",
    "^q\\?",
    "^(snap|a)",
    "^(snap-|snapx)[0-9]",
    "^s?nap",
    "^/?rds/",
    "^rds/(x|y)/s",
    "^[a-c]",
    "^[.]",
    "snap",
    "^a|snap",
    "^(?:snap)",
    "^snap[^x]",
    "^snap\\d",
    "^sn(ap)*",
    "^sn(a|b",
    "^",
  ].flatMap((p) => [`name~${ros(p)}`, `fullname~${ros(p)}`]),
  `fullname~${ros("^/?rds/x/")} and name~${ros("^(snap|a)")}`,
];

/** The same condition, written so no index can narrow it: every item is tested. */
const fullScan = (condition: string) => `(${condition})=true`;

async function answers(run: (line: string) => Promise<string>, condition: string): Promise<string[]> {
  const menu = "/disk/btrfs/subvolume";
  const lines = [
    `:put [:serialize to=json [${menu} print detail as-value where ${condition}]]`,
    `:put [${menu} find where ${condition}]`,
    `:put [:len [${menu} find where ${condition}]]`,
    `${menu} print count-only where ${condition}`,
    `${menu} print where ${condition}`,
  ];
  const out: string[] = [];
  for (const line of lines) out.push(await run(line).catch((e: unknown) => `error: ${String(e)}`));
  return out;
}

describe("scoped subvolume answers equal the full scan", () => {
  for (const settings of [
    {},
    { subvolume_fullname_form: "leading-slash", subvolume_parent_format: "fullname" },
  ]) {
    it(`for every condition (${JSON.stringify(settings)})`, async () => {
      const w = fakeWorld({ subvolumes: sampleListing() });
      w.setSettings(settings);
      let nonEmpty = 0;
      for (const condition of CONDITIONS) {
        // Parenthesised like the full scan's, so error columns line up.
        const scoped = await answers(w.run, `(${condition})`);
        expect(scoped, condition).toEqual(await answers(w.run, fullScan(condition)));
        if (scoped[0] !== "[]\n") nonEmpty++;
      }
      // The conditions do select items (the comparison is not between two empty answers).
      expect(nonEmpty).toBeGreaterThan(CONDITIONS.length / 2);
    });
  }

  it("find [where …] picks the same targets for get and remove as a full scan", async () => {
    const w = fakeWorld({ subvolumes: sampleListing() });
    const get = (c: string) => w.run(`:put [/disk/btrfs/subvolume get [find where ${c}] fullname]`);
    expect(await get(`fullname=${ros("rds/y/dol$ar")}`)).toBe("rds/y/dol$ar\n");
    expect(await get(`fullname=${ros("rds/y/dol$ar")}`)).toBe(
      await get(fullScan(`fullname=${ros("rds/y/dol$ar")}`)),
    );
    const id = (
      await w.run(`:put [/disk/btrfs/subvolume find where name=${ros("a(b)")} and fullname~"^rds/x"]`)
    ).trim();
    expect(id).toBe("*134");
    expect(await w.run(`:put [/disk/btrfs/subvolume get ${id} name]`)).toBe("a(b)\n");
  });
});

describe("the index follows changes", () => {
  /** Every answer of a world that follows `steps` equals a fresh world's built from the final listing. */
  it("one by one (patched listings) and re-read whole (changes behind the emulator's back)", async () => {
    let listing: readonly Subvolume[] = sampleListing();
    const w = fakeWorld({ listing: () => listing });
    const check = async (what: string) => {
      const fresh = fakeWorld({ subvolumes: [...listing] });
      for (const condition of CONDITIONS.slice(0, 30)) {
        expect(await answers(w.run, condition), `${what}: ${condition}`).toEqual(
          await answers(fresh.run, condition),
        );
      }
      expect(await w.run("/disk/btrfs/subvolume print detail"), what).toBe(
        await fresh.run("/disk/btrfs/subvolume print detail"),
      );
    };
    await check("start");
    const byPath = (p: string) => listing.find((s) => s.path === p) as Subvolume;
    // Through the emulator: each change is a patch of the listing (one out, one in).
    listing = replaced(listing, "rds/x/snap.2", subvolume(400, "rds/x/snap.2", byPath("rds/x"), 257));
    await check("a snapshot added");
    listing = replaced(listing, "rds/x/snap.1", undefined);
    listing = replaced(listing, "rds/y/a+b", undefined);
    await check("two snapshots removed between queries");
    listing = replaced(listing, "rds/y", undefined);
    await check("a source removed: its snapshots lose their parent");
    listing = replaced(listing, "rds/x", { ...byPath("rds/x"), generation: 99n });
    await check("a changed subvolume");
    // Behind its back, then re-read whole: new objects, one renamed, one gone, one new.
    const reread = listing
      .filter((s) => s.path !== "rds/x/q?")
      .map((s) => (s.path === "rds/x" ? { ...s, path: "rds/z" } : { ...s }))
      .map((s) => (s.path.startsWith("rds/x/") ? { ...s, path: s.path.replace("rds/x/", "rds/z/") } : s));
    listing = [...reread, subvolume(500, "rds/y/new.1")];
    await check("changes behind its back, read whole");
    listing = replaced(listing, "rds/z/a(b)", undefined);
    await check("a patch after the re-read");
    // Hundreds at once behind its back (a bulk change: the sorted lookups are sorted again).
    const many = Array.from({ length: 300 }, (_, i) => subvolume(600 + i, `rds/y/bulk-${i % 7}.${i}`));
    listing = [...listing.filter((s) => !s.path.startsWith("rds/z/s")), ...many];
    await check("hundreds made behind its back, read whole");
  });
});
