/**
 * Hostile strings: RouterOS script syntax (`$[…]` runs a command inside a quoted value, `$(…)`
 * evaluates, `;` starts a new command, a newline ends the line), quoting and escaping characters,
 * control and bidirectional characters, astral Unicode, lone surrogates, path tricks, and very long
 * values. Every generated value carries a marker, so a test can prove the value never reached the
 * RDS (the emulator's command log) or a log line.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";

export const MARKER = "ZZhostile_";

const FRAGMENTS = [
  '"',
  "\\",
  '\\"',
  "\\$",
  "$",
  "$x",
  "$[/disk remove [find]]",
  '$[/file remove [find where name~"raid1"]]',
  "$(1+1)",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal "${…}" is the point.
  "${x}",
  ";",
  "; /disk/btrfs/subvolume remove [find]",
  "\n",
  "\r\n/system reboot",
  "\t",
  "#",
  "[",
  "]",
  "{",
  "}",
  "?",
  "'",
  "`",
  "=",
  "!",
  " where ",
  "*1",
  "/",
  "..",
  "../../",
  "\u0000",
  "\u001b[2J",
  "\u007f",
  "\u0085",
  "\u202e",
  "\u2028",
  "\ufeff",
  "é",
  "日本語",
  "😀",
  "\ud800",
  "%s%n",
  "pvc-",
  "snap-",
  ":put",
  "/disk add type=file",
  "v1.snap-",
] as const;

let counter = 0;

/** A fresh marker, unique within the test run. */
export function nextMarker(): string {
  counter += 1;
  return `${MARKER}${counter}`;
}

/** Long values, a few kilobytes of script syntax (far longer ones come from `oversized`). */
const LONG = ["$[/disk remove [find]]".repeat(50), `"${";".repeat(3000)}`, "é".repeat(2000)];

/** A value far beyond any field's limit (about 300 KB), ending in a fresh marker. */
export function oversized(): string {
  return `${'$[/disk remove [find]];\\"'.repeat(12_000)}${nextMarker()}`;
}

/** A hostile string with a unique marker somewhere in it. */
export const hostileString: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 0, maxLength: 8 }),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant("") },
      { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
      { weight: 1, arbitrary: fc.constantFrom(...LONG) },
    ),
    fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 0, maxLength: 4 }),
  )
  .map(([before, middle, after]) => `${before.join("")}${middle}${nextMarker()}${after.join("")}`);

/** A secret value nobody could guess, with hostile characters around it; `token` is what must never be logged. */
export function secretValue(hostile: string): { value: string; token: string } {
  const token = `s3cret-${randomBytes(12).toString("hex")}`;
  return { value: `${hostile}${token}${hostile}`, token };
}
