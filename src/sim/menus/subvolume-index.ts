import path from "node:path";
import { type ListingPatch, patchOf, type Subvolume } from "../backend/btrfs.js";
import { toText } from "../values.js";
import type { ScopeLeaf } from "./scope.js";
import { SortedKeys } from "./sorted-keys.js";
import type { TableItem } from "./table.js";

/** Builds the item of a subvolume from it, its source (snapshots) and the subvolume it sits in. */
export type ItemBuilder = (
  subvolume: Subvolume,
  source: Subvolume | undefined,
  container: Subvolume | undefined,
) => TableItem;

/** Patches followed one by one before a listing is compared whole instead. */
const MAX_PATCHES = 64;

/** Changes applied one by one into the sorted lookups; more (and over an eighth of the table) sort them again. */
const BULK_CHANGES = 256;

/** The string properties a scope can narrow a subvolume read by. */
const KEYED = ["name", "fullname"] as const;

interface Entry {
  readonly subvolume: Subvolume;
  readonly item: TableItem;
  readonly keys: Readonly<Record<(typeof KEYED)[number], string>>;
}

/**
 * One pool's `/disk/btrfs/subvolume` items, kept in memory as RouterOS keeps its item tables: by
 * id, by path, and sorted by `name` and `fullname` for lookups by value or prefix. It follows the
 * Btrfs listing (which the emulator patches on its own changes and re-reads for changes made behind
 * its back): a new listing is compared with the last one object by object, and only the items of
 * subvolumes that changed — and of those whose source or container changed its path — are rebuilt,
 * so one change next to 10 000 subvolumes costs about what it costs next to none.
 */
export class SubvolumeIndex {
  private listing: readonly Subvolume[] | undefined;
  private formatKey: string | undefined;
  /** Whether the listing is in id order (Btrfs lists it so): then id order is print order. */
  private idOrdered = true;
  private readonly entries = new Map<number, Entry>();
  private readonly byPath = new Map<string, Subvolume>();
  private readonly byUuid = new Map<string, Subvolume>();
  /** Snapshots by the uuid of their source, subvolumes by the id of the one they sit in. */
  private readonly bySource = new Map<string, Set<number>>();
  private readonly byContainer = new Map<number, Set<number>>();
  private readonly sorted = new Map<string, SortedKeys<TableItem>>(KEYED.map((k) => [k, new SortedKeys()]));
  private ordered: TableItem[] | undefined;

  /** `base`: the item id of subvolume id 0 in this pool (see pool-items.ts). */
  constructor(
    private readonly base: number,
    private readonly span: number,
  ) {}

  /** Brings the index up to this listing, built with `build` under the print form `formatKey`. */
  update(listing: readonly Subvolume[], formatKey: string, build: ItemBuilder): void {
    if (listing === this.listing && formatKey === this.formatKey) return;
    const steps = formatKey === this.formatKey && this.idOrdered ? this.patchesSince(listing) : undefined;
    if (steps !== undefined) {
      // Patched by the emulator's own changes: apply what each patch says, nothing else.
      for (const step of steps) this.change(step.gone, step.came, build);
      this.listing = listing;
      return;
    }
    const ordered = isIdOrdered(listing);
    if (formatKey !== this.formatKey || this.listing === undefined || !ordered || !this.idOrdered) {
      this.rebuild(listing, build);
    } else {
      this.apply(this.listing, listing, build);
    }
    this.listing = listing;
    this.formatKey = formatKey;
    this.idOrdered = ordered;
  }

  /** The patches that lead from the listing applied last to this one, oldest first (a few at most). */
  private patchesSince(listing: readonly Subvolume[]): ListingPatch[] | undefined {
    const steps: ListingPatch[] = [];
    let at = listing;
    while (at !== this.listing) {
      const patch = patchOf(at);
      if (patch === undefined || steps.length >= MAX_PATCHES) return undefined;
      const from = patch.from.deref();
      if (from === undefined) return undefined;
      steps.push(patch);
      at = from;
    }
    return steps.reverse();
  }

  /** How many items there are. */
  get size(): number {
    return this.entries.size;
  }

  /** Every item, in print order. */
  all(): TableItem[] {
    if (this.ordered === undefined) {
      this.ordered = (this.listing ?? []).map((s) => (this.entries.get(s.id) as Entry).item);
    }
    return this.ordered;
  }

  /** How many items a leaf would read here; undefined when it cannot narrow by it. */
  cost(leaf: ScopeLeaf): number | undefined {
    if (leaf.kind === "ids") return leaf.ids.length;
    const keys = this.sorted.get(leaf.prop);
    if (keys === undefined) return undefined;
    let n = 0;
    if (leaf.kind === "values") for (const v of leaf.values) n += keys.countEqual(v);
    else for (const p of leaf.prefixes) n += keys.countPrefix(p);
    return n;
  }

  /** The items the leaves allow (each leaf one `cost` accepted), in print order. */
  lookup(leaves: readonly ScopeLeaf[]): TableItem[] {
    const found = new Set<TableItem>();
    for (const leaf of leaves) {
      if (leaf.kind === "ids") {
        for (const id of leaf.ids) {
          const item = this.itemById(id);
          if (item !== undefined) found.add(item);
        }
        continue;
      }
      const keys = this.sorted.get(leaf.prop) as SortedKeys<TableItem>;
      if (leaf.kind === "values") for (const v of leaf.values) for (const i of keys.equal(v)) found.add(i);
      else for (const p of leaf.prefixes) for (const i of keys.withPrefix(p)) found.add(i);
    }
    if (this.idOrdered) return [...found].sort((a, b) => a.id - b.id);
    return this.all().filter((item) => found.has(item));
  }

  /** The subvolume at this path (relative to the pool root). */
  atPath(relative: string): Subvolume | undefined {
    return this.byPath.get(relative);
  }

  /** The subvolume an item id names, if it is one of this pool's. */
  byItemId(itemId: number): Subvolume | undefined {
    const id = itemId - this.base;
    return id >= 0 && id < this.span ? this.entries.get(id)?.subvolume : undefined;
  }

  /** The subvolumes whose last path component is `name`, in print order. */
  named(name: string): Subvolume[] {
    return this.lookup([{ kind: "values", prop: "name", values: [name] }]).map(
      (item) => this.byItemId(item.id) as Subvolume,
    );
  }

  private itemById(itemId: number): TableItem | undefined {
    const id = itemId - this.base;
    return id >= 0 && id < this.span ? this.entries.get(id)?.item : undefined;
  }

  private rebuild(listing: readonly Subvolume[], build: ItemBuilder): void {
    this.clear();
    for (const s of listing) this.link(s);
    for (const s of listing) this.place(s, build, false);
    this.sortKeys();
  }

  /**
   * Moves from one id-ordered listing to the next: a merge of the two finds the subvolumes that
   * appeared, went or changed (unchanged ones are the same objects), without building anything
   * for the others.
   */
  private apply(before: readonly Subvolume[], after: readonly Subvolume[], build: ItemBuilder): void {
    const gone: Subvolume[] = [];
    const came: Subvolume[] = [];
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
      const a = before[i];
      const b = after[j];
      if (a !== undefined && a === b) {
        i++;
        j++;
      } else if (b === undefined || (a !== undefined && a.id < b.id)) {
        gone.push(a as Subvolume);
        i++;
      } else if (a === undefined || b.id < a.id) {
        came.push(b);
        j++;
      } else {
        gone.push(a);
        came.push(b);
        i++;
        j++;
      }
    }
    this.change(gone, came, build);
  }

  /** Takes `gone` out and `came` in (the same id in both: a changed subvolume). */
  private change(gone: readonly Subvolume[], came: readonly Subvolume[], build: ItemBuilder): void {
    if (gone.length === 0 && came.length === 0) return;
    // Items to build again: the changed ones, and those whose source or container appeared, went,
    // or moved (an item shows its source's and container's path).
    const dirty = new Set<number>(came.map((s) => s.id));
    const cameById = new Map(came.map((s) => [s.id, s]));
    const goneById = new Map(gone.map((s) => [s.id, s]));
    const sameName = (x: Subvolume | undefined, y: Subvolume) =>
      x !== undefined && x.path === y.path && x.uuid === y.uuid;
    for (const s of gone) if (!sameName(cameById.get(s.id), s)) this.dependents(s, dirty);
    for (const s of came) if (!sameName(goneById.get(s.id), s)) this.dependents(s, dirty);
    // Many changes at once (thousands of subvolumes made behind the emulator's back, then a
    // re-read): the sorted lookups are sorted again once instead of taking one insert each.
    const many = gone.length + dirty.size;
    const bulk = many > BULK_CHANGES && many > this.entries.size / 8;
    for (const s of gone) {
      this.unplace(s, !bulk);
      this.unlink(s);
    }
    for (const s of came) this.link(s);
    for (const id of dirty) {
      const entry = this.entries.get(id);
      if (entry !== undefined) this.unplace(entry.subvolume, !bulk);
    }
    for (const id of dirty) {
      const s = this.byId.get(id);
      if (s !== undefined) this.place(s, build, !bulk);
    }
    if (bulk) this.sortKeys();
    this.ordered = undefined;
  }

  /** Sorts every keyed lookup again from the entries. */
  private sortKeys(): void {
    for (const k of KEYED) {
      this.sorted.set(k, SortedKeys.of([...this.entries.values()].map((e) => [e.keys[k], e.item] as const)));
    }
  }

  /** Subvolumes by id (what an item's container is found by). */
  private readonly byId = new Map<number, Subvolume>();

  private dependents(s: Subvolume, into: Set<number>): void {
    for (const id of this.bySource.get(s.uuid) ?? []) into.add(id);
    for (const id of this.byContainer.get(s.id) ?? []) into.add(id);
  }

  /** Records a subvolume in the maps items are built from. */
  private link(s: Subvolume): void {
    this.byId.set(s.id, s);
    this.byPath.set(s.path, s);
    this.byUuid.set(s.uuid, s);
    if (s.parentUuid !== undefined) addTo(this.bySource, s.parentUuid, s.id);
    addTo(this.byContainer, s.topLevel, s.id);
  }

  private unlink(s: Subvolume): void {
    if (this.byId.get(s.id) === s) this.byId.delete(s.id);
    if (this.byPath.get(s.path) === s) this.byPath.delete(s.path);
    if (this.byUuid.get(s.uuid) === s) this.byUuid.delete(s.uuid);
    if (s.parentUuid !== undefined) removeFrom(this.bySource, s.parentUuid, s.id);
    removeFrom(this.byContainer, s.topLevel, s.id);
  }

  /** Builds a subvolume's item and enters it in the lookups. */
  private place(s: Subvolume, build: ItemBuilder, sort = true): void {
    const source = s.parentUuid === undefined ? undefined : this.byUuid.get(s.parentUuid);
    const container = s.topLevel === 5 ? undefined : this.byId.get(s.topLevel);
    const item = build(s, source, container);
    const keys = {
      name: textOf(item, "name") ?? path.basename(s.path),
      fullname: textOf(item, "fullname") ?? s.path,
    };
    this.entries.set(s.id, { subvolume: s, item, keys });
    if (sort) for (const k of KEYED) this.sorted.get(k)?.insert(keys[k], item);
    this.ordered = undefined;
  }

  private unplace(s: Subvolume, sort = true): void {
    const entry = this.entries.get(s.id);
    if (entry === undefined) return;
    if (sort) for (const k of KEYED) this.sorted.get(k)?.remove(entry.keys[k], entry.item);
    this.entries.delete(s.id);
  }

  private clear(): void {
    this.entries.clear();
    this.byId.clear();
    this.byPath.clear();
    this.byUuid.clear();
    this.bySource.clear();
    this.byContainer.clear();
    for (const k of KEYED) this.sorted.set(k, new SortedKeys());
    this.ordered = undefined;
  }
}

function textOf(item: TableItem, prop: string): string | undefined {
  const p = item.props.find((x) => x.name === prop);
  return p?.value.t === "str" ? toText(p.value) : undefined;
}

function isIdOrdered(listing: readonly Subvolume[]): boolean {
  for (let i = 1; i < listing.length; i++)
    if ((listing[i] as Subvolume).id <= (listing[i - 1] as Subvolume).id) return false;
  return true;
}

function addTo<K>(map: Map<K, Set<number>>, key: K, id: number): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(id);
}

function removeFrom<K>(map: Map<K, Set<number>>, key: K, id: number): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}
