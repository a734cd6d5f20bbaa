import path from "node:path";

/** Components after a pool's name as `/file` prints them: non-empty, never `.` or `..`. */
const PRINTED_REST = /^(?!\.\.?(?:\/|$))[^/]+(?:\/(?!\.\.?(?:\/|$))[^/]+)*$/;

/** A pool's name (its mount-point on the router) and where it is mounted on the host. */
export interface PoolMount {
  readonly name: string;
  readonly mountPath: string;
}

/**
 * Maps RouterOS file paths (`/raid1/a/b`, `raid1/a/b`) to host paths under the pool mounts and
 * back. Only paths inside a pool exist on the emulated router; `.` and `..` components are refused.
 */
export class PathMapper {
  readonly poolName: string;
  readonly mountPath: string;
  readonly #pools: readonly PoolMount[];

  /** `pools[0]` is the first pool; `components` and `fileName` speak of it alone. */
  constructor(pools: readonly PoolMount[]) {
    const [first] = pools;
    if (first === undefined) throw new Error("the router needs a pool");
    this.poolName = first.name;
    this.mountPath = first.mountPath;
    this.#pools = pools;
  }

  /** The pool a router path is in and the components after its name, or undefined. */
  locate(routerPath: string): { pool: PoolMount; parts: string[] } | undefined {
    const parts = routerPath.split("/").filter((p) => p !== "");
    const pool = this.#pools.find((p) => p.name === parts[0]);
    if (pool === undefined || parts.some((p) => p === "." || p === "..")) return undefined;
    return { pool, parts: parts.slice(1) };
  }

  /**
   * The host path of a name in the form `/file` prints (`raid1/a/b`: the pool's name, then the
   * path, no leading, doubled or trailing slash, no `.` or `..`); undefined for any other form.
   */
  hostOfPrinted(name: string): string | undefined {
    const slash = name.indexOf("/");
    const poolName = slash < 0 ? name : name.slice(0, slash);
    const pool = this.#pools.find((p) => p.name === poolName);
    if (pool === undefined) return undefined;
    if (slash < 0) return pool.mountPath;
    const rest = name.slice(slash + 1);
    if (!PRINTED_REST.test(rest)) return undefined;
    return `${pool.mountPath}/${rest}`;
  }

  /** Whether a host path is the mount point of a pool (the pool's own root). */
  isPoolRoot(host: string): boolean {
    return this.#pools.some((p) => p.mountPath === host);
  }

  /** Components after the first pool's name, or undefined when the path is not inside it. */
  components(routerPath: string): string[] | undefined {
    const found = this.locate(routerPath);
    return found?.pool.name === this.poolName ? found.parts : undefined;
  }

  toHost(routerPath: string): string | undefined {
    const found = this.locate(routerPath);
    return found === undefined ? undefined : path.join(found.pool.mountPath, ...found.parts);
  }

  /** `raid1/a/b` (the form `/file` prints) for a path relative to the pool root. */
  fileName(relative: string): string {
    return relative === "" ? this.poolName : `${this.poolName}/${relative}`;
  }

  /** `/raid1/a/b` (the form `/disk file-path` prints). */
  normalize(routerPath: string): string {
    return `/${routerPath
      .split("/")
      .filter((p) => p !== "")
      .join("/")}`;
  }
}
