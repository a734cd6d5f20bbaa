import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regexSegments } from "../../src/sim/menus/regex-segments.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { fakeWorld } from "./fake-world.js";

/**
 * `/file … where name~"^a/[^/]+/b"` walks the pool level by level, reading only the names each
 * path segment of the pattern can match: its answers must be exactly the full scan's (every
 * entry tested), in the same order, with the same ids and properties, under every setting.
 */

/** Whether a path matches, as the walk decides it: component by component. */
function matchesBySegments(pattern: string, path: string): boolean | undefined {
  const segments = regexSegments(pattern);
  if (segments === undefined) return undefined;
  const parts = path.split("/");
  const last = segments.whole.length;
  if (parts.length <= last || (!segments.descendants && parts.length !== last + 1)) return false;
  return (
    segments.whole.every((re, i) => re.test(parts[i] as string)) && segments.last.test(parts[last] as string)
  );
}

describe("regexSegments", () => {
  it("splits at top-level slashes when no part can match a slash, and refuses the rest", () => {
    const driverPattern = "^raid1/rds-csi/snaps/[^/]+/snap-(0[0-2]|03[0-7])[^/]*/disk[.]img";
    expect(regexSegments(driverPattern)?.whole).toHaveLength(5);
    expect(regexSegments("^a/b$")?.descendants).toBe(false);
    expect(regexSegments("^a/(?:b|c)\\.d/\\w+")?.whole).toHaveLength(2);
    for (const p of [
      "a/b",
      "^ab",
      "^a/.",
      "^a/[^x]",
      "^a/[+-0]",
      "^a\\/b",
      "^a/(b/c)",
      "^a//?b",
      "^a/+b",
      "^a/b|c/d",
      "^a/(?=b)",
      "^a/\\W",
      "^a/\\1",
      "^a/b$c",
      "^a/^b",
      "^a/(b",
      "^a/[^]",
    ])
      expect(regexSegments(p), p).toBeUndefined();
  });

  it("decides exactly as the whole pattern does (random patterns and paths)", () => {
    const next = seededRandom(23);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const atoms = [
      "a",
      "b",
      "/",
      "/",
      "/",
      ".",
      "\\.",
      "[ab]",
      "[^/]",
      "[^/]+",
      "[^/]*",
      "[^a]",
      "[+-0]",
      "(a|b)",
      "(a|)",
      "(a/|b)",
      "(?:a|b.)",
      "\\/",
      "\\d",
      "\\w",
      "+",
      "*",
      "?",
      "{2}",
      "$",
      "|",
      "(",
      ")",
    ];
    const alphabet = ["a", "b", ".", "1", "+", "/"];
    let split = 0;
    let matched = 0;
    for (let i = 0; i < 4000; i++) {
      const pattern = `^${Array.from({ length: 1 + Math.floor(next() * 7) }, () => pick(atoms)).join("")}`;
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        expect(regexSegments(pattern)).toBeUndefined();
        continue;
      }
      if (regexSegments(pattern) === undefined) continue;
      split++;
      for (let j = 0; j < 40; j++) {
        // Paths as `/file` names them: non-empty components, no leading or doubled slash.
        const path = Array.from({ length: 1 + Math.floor(next() * 4) }, () =>
          Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(alphabet.slice(0, 5))).join(""),
        ).join("/");
        const expected = re.test(path);
        if (expected) matched++;
        expect(matchesBySegments(pattern, path), `${pattern} on ${path}`).toBe(expected);
      }
    }
    // The comparison covers many split patterns and matching paths, not only refusals.
    expect(split).toBeGreaterThan(150);
    expect(matched).toBeGreaterThan(200);
  });
});

/** A RouterOS string literal: quotes, backslashes, `$` and `?` escaped. */
const ros = (s: string) => `"${s.replace(/[\\"$?]/g, (c) => `\\${c}`)}"`;

/** A name as a literal in a regular expression. */
const literal = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);

const NAMES = [
  "snap-01",
  "snap-02x",
  "snap-0370",
  "snap.1",
  "a+b",
  "a(b)",
  "[br]",
  "dol$ar",
  "q?",
  "we|rd",
  "br{2}",
];
const VOLUMES = ["v1", "v.2", "a+b"];

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "file-segments-"));
  const file = (relative: string, contents = "x") => {
    mkdirSync(join(root, relative, ".."), { recursive: true });
    writeFileSync(join(root, relative), contents);
  };
  for (const [v, volume] of VOLUMES.entries()) {
    for (const [n, name] of NAMES.entries()) {
      if ((v + n) % 4 === 3) mkdirSync(join(root, "snaps", volume, name), { recursive: true });
      else file(`snaps/${volume}/${name}/disk.img`, `${volume} ${name}`);
    }
  }
  // Files directly in a segment's directory, deeper files, a directory named like the image.
  file("snaps/direct.img", "direct");
  file("snaps/v1/disk.img");
  file("snaps/v1/snap-01/sub/disk.img");
  file("snaps/v1/snap-01/disk.img.bak");
  file("snaps/v.2/snap-0370/disk.img/inner", "inside");
  file("other/snaps/v1/snap-01/disk.img");
  file("snapsx/v1/snap-01/disk.img");
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const HAND_WRITTEN = [
  "^raid1/snaps/[^/]+/snap-(0[0-2]|03[0-7])[^/]*/disk[.]img",
  "^raid1/snaps/[^/]+/[^/]+/disk[.]img$",
  "^raid1/snaps/[^/]+",
  "^raid1/snaps/[^/]+/",
  "^raid1/snaps/",
  "^raid1/[a-z]+/[^/]+/snap-0",
  `^raid1/snaps/${literal("a+b")}/`,
  `^raid1/snaps/(v1|${literal("v.2")})/snap-0[0-9]`,
  "^raid1/snaps/[^/]*/d",
  ...NAMES.map((n) => `^raid1/snaps/v1/${literal(n)}`),
  ...NAMES.map((n) => `^raid1/snaps/[^/]+/${literal(n)}$`),
  "^raid1/snaps/v1/br{2}",
  "^raid1/snaps/v1/(?:snap|a)",
  "^raid1/snaps/v1/snap.1",
  "^raid1/snaps//v1",
  "^raid1/snaps/v1/$",
  "^raid2/snaps/",
  "^(raid1|raid2)/snaps/v1",
  "^raid1/snaps/(a",
  "^raid1/snaps/\\w+/snap-0\\d",
  "^raid1$",
  "^raid1/",
];

/** Random path patterns: a segment per level, from literals, classes and groups. */
function randomPatterns(count: number): string[] {
  const next = seededRandom(5);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const segment = [
    "[^/]+",
    "[^/]*",
    "snaps",
    "snap",
    "snap-(0[0-2]|03)[^/]*",
    `(v1|${literal("v.2")})`,
    "s[a-n]+",
    "d",
    "disk[.]img",
    "[^/]+[.]img",
    ...NAMES.map(literal),
    ...VOLUMES.map(literal),
  ];
  return Array.from({ length: count }, () => {
    const depth = 1 + Math.floor(next() * 4);
    const body = Array.from({ length: depth }, () => pick(segment)).join("/");
    return `^raid1/${body}${next() < 0.3 ? "$" : ""}`;
  });
}

async function answers(run: (line: string) => Promise<string>, condition: string): Promise<string[]> {
  const lines = [
    `:put [:serialize to=json [/file print detail as-value where ${condition}]]`,
    `:put [/file find where ${condition}]`,
    `/file print count-only where ${condition}`,
    `/file print where ${condition}`,
  ];
  const out: string[] = [];
  for (const line of lines) out.push(await run(line).catch((e: unknown) => `error: ${String(e)}`));
  return out;
}

describe("/file answers by path pattern equal the full scan", () => {
  const patterns = [...HAND_WRITTEN, ...randomPatterns(60)];
  const conditions = [
    ...patterns.map((p) => `name~${ros(p)}`),
    ...patterns.slice(0, 12).map((p, i) => `name~${ros(p)} or name~${ros(patterns[i + 12] as string)}`),
    ...patterns.slice(0, 12).map((p) => `name~${ros(p)} and type="directory"`),
    ...patterns.slice(0, 12).map((p) => `type="file" and name~${ros(p)}`),
    `name~${ros(HAND_WRITTEN[0] as string)} and name~${ros("^raid1/snaps/v1/")}`,
    `name~${ros(HAND_WRITTEN[0] as string)} and name=${ros("raid1/snaps/v1/snap-01/disk.img")}`,
  ];
  for (const settings of [
    {},
    { file_print_order: "alphabetical" },
    { file_id_form: "star-hex", file_listing_contents: false },
  ]) {
    it(`for hand-written and random patterns, alone, or'ed and and'ed (${JSON.stringify(settings)})`, async () => {
      const w = fakeWorld({ mountPath: root });
      w.setSettings(settings);
      let nonEmpty = 0;
      for (const [i, condition] of conditions.entries()) {
        // Either answer first: ids are given on first sight, so both orders are compared.
        const full = `(${condition})=true`;
        const [first, second] = i % 2 === 0 ? [`(${condition})`, full] : [full, `(${condition})`];
        const a = await answers(w.run, first);
        const b = await answers(w.run, second);
        expect(a, condition).toEqual(b);
        if (a[0] !== "[]\n") nonEmpty++;
      }
      // The patterns do select entries (the comparison is not between two empty answers).
      expect(nonEmpty).toBeGreaterThan(conditions.length / 3);
    });
  }

  it("the driver's page pattern finds the images in its slice, and the image-named directory's file", async () => {
    const w = fakeWorld({ mountPath: root });
    w.setSettings({ file_print_order: "alphabetical" });
    // Width 0: `:put` does not wrap, so the JSON reply is one line.
    const out = await w.run(
      `:put [:serialize to=json [/file print as-value proplist=name where name~${ros(HAND_WRITTEN[0] as string)}]]`,
      0,
    );
    const names = (JSON.parse(out) as Array<{ name: string }>).map((i) => i.name);
    expect(names).toContain("raid1/snaps/v1/snap-01/disk.img");
    expect(names).toContain("raid1/snaps/v1/snap-01/disk.img.bak");
    expect(names).toContain("raid1/snaps/v.2/snap-0370/disk.img/inner");
    expect(names).not.toContain("raid1/snaps/v1/snap-01/sub/disk.img");
    expect(names).not.toContain("raid1/other/snaps/v1/snap-01/disk.img");
    expect(names.every((n) => /^raid1\/snaps\/[^/]+\/snap-0/.test(n))).toBe(true);
  });
});
