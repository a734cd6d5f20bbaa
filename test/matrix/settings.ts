/**
 * The emulator settings the matrix varies: every setting for a RouterOS behaviour that differs
 * between versions or is unknown on hardware (src/sim/README.md, "Settings"), each with every
 * plausible value, the default first. `matrixCombinations()` is what `npm run test:matrix` runs.
 */
import { type Combination, type Factors, pairwise } from "./pairwise.js";

export const MATRIX_FACTORS: Factors = {
  // Known on RouterOS 7.2x; other versions may differ.
  json_integer_form: ["float", "integer"],
  file_listing_contents: [true, false],
  file_id_form: ["opaque", "star-hex"],
  put_wrap: [true, false],
  file_print_order: ["creation", "alphabetical"],
  empty_print_legend: [true, false],
  // Unknown on hardware.
  snapshot_parent_resolution: ["path", "last-name"],
  subvolume_name_with_slash: ["accept", "refuse"],
  subvolume_fullname_form: ["no-leading-slash", "leading-slash"],
  subvolume_parent_format: ["name", "fullname"],
  subvolume_fs_form: ["label", "uuid"],
  creation_time_format: ["iso", "routeros"],
  error_texts: ["default", "alternative"],
  line_error_mode: ["stop", "continue"],
  proplist_keeps_id: [true, false],
  exported_disk_file_size: ["resize", "refuse", "ignore"],
  subvolume_remove_in_use: ["fail", "allow"],
  file_remove_in_use: ["fail", "allow"],
  attach_without_file_size: ["accept", "refuse"],
  file_size_plain_bytes: ["accept", "refuse"],
  file_add_relative_path: ["accept", "refuse"],
};

export interface NamedCombination {
  readonly name: string;
  readonly settings: Combination;
}

/**
 * Pairings of values the driver does not support, left out of the matrix (src/storage/README.md):
 * with `parent=` found by last name only and no subvolume under plain directories, a volume's
 * snapshot folder must be a subvolume named like the volume, and `parent=<volume id>` is ambiguous.
 */
export const UNSUPPORTED: readonly Combination[] = [
  { snapshot_parent_resolution: "last-name", subvolume_name_with_slash: "refuse" },
];

/** The pairwise combinations of the matrix, each with a short name (`m1`, `m2`, …). */
export function matrixCombinations(): NamedCombination[] {
  return pairwise(MATRIX_FACTORS, UNSUPPORTED).map((settings, i) => ({ name: `m${i + 1}`, settings }));
}

/**
 * Few pairwise combinations that give every setting each of its values other than the default at
 * least once: what CI runs (the rest of `npm test` runs the defaults). A setting has at most two
 * values besides its default, so two or three runs.
 */
export function eachValueCombinations(): NamedCombination[] {
  const missing = new Set(
    Object.entries(MATRIX_FACTORS).flatMap(([name, values]) =>
      values.slice(1).map((v) => `${name}=${JSON.stringify(v)}`),
    ),
  );
  const chosen: NamedCombination[] = [];
  const pool = matrixCombinations();
  while (missing.size > 0) {
    const gain = (c: NamedCombination) =>
      Object.entries(c.settings).filter(([n, v]) => missing.has(`${n}=${JSON.stringify(v)}`)).length;
    const best = pool.reduce((a, b) => (gain(b) > gain(a) ? b : a));
    if (gain(best) === 0) throw new Error(`no combination has ${[...missing].join(", ")}`);
    chosen.push(best);
    for (const [n, v] of Object.entries(best.settings)) missing.delete(`${n}=${JSON.stringify(v)}`);
  }
  return chosen;
}
