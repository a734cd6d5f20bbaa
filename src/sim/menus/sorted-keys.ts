/**
 * Items sorted by a text key (then by id), for exact and prefix lookups in O(log n) plus the
 * answer; kept current by single inserts and removals.
 */
export class SortedKeys<T extends { readonly id: number }> {
  private readonly keys: string[] = [];
  private readonly items: T[] = [];

  /** Built at once from many items (a sort, not one insert each). */
  static of<T extends { readonly id: number }>(entries: ReadonlyArray<readonly [string, T]>): SortedKeys<T> {
    const out = new SortedKeys<T>();
    const sorted = [...entries].sort(([ka, a], [kb, b]) => (ka < kb ? -1 : ka > kb ? 1 : a.id - b.id));
    for (const [key, item] of sorted) {
      out.keys.push(key);
      out.items.push(item);
    }
    return out;
  }

  get size(): number {
    return this.keys.length;
  }

  insert(key: string, item: T): void {
    const at = this.position(key, item.id);
    this.keys.splice(at, 0, key);
    this.items.splice(at, 0, item);
  }

  remove(key: string, item: T): void {
    const at = this.position(key, item.id);
    if (this.items[at] === item) {
      this.keys.splice(at, 1);
      this.items.splice(at, 1);
    }
  }

  /** How many items have exactly this key. */
  countEqual(key: string): number {
    return this.lower(key, true) - this.lower(key, false);
  }

  /** How many items' keys start with `prefix`. */
  countPrefix(prefix: string): number {
    return this.prefixEnd(prefix) - this.lower(prefix, false);
  }

  equal(key: string): T[] {
    return this.items.slice(this.lower(key, false), this.lower(key, true));
  }

  withPrefix(prefix: string): T[] {
    return this.items.slice(this.lower(prefix, false), this.prefixEnd(prefix));
  }

  /** The first position whose key is ≥ `key` (or > `key` when `after`). */
  private lower(key: string, after: boolean): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid] as string;
      if (k < key || (after && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first position after every key that starts with `prefix`. */
  private prefixEnd(prefix: string): number {
    // Keys that start with the prefix sort before its successor: the prefix with its last code
    // unit raised by one (a last unit of 0xffff is dropped and the one before it raised).
    let p = prefix;
    while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
    if (p === "") return this.keys.length;
    const successor = p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
    return this.lower(successor, false);
  }

  /** Where `key` with this id sits (or would be inserted), ordered by key then id. */
  private position(key: string, id: number): number {
    let lo = this.lower(key, false);
    let hi = this.lower(key, true);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as T).id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
