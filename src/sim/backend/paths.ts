import path from "node:path";

/**
 * Maps RouterOS file paths (`/raid1/a/b`, `raid1/a/b`) to host paths under the pool mount and back.
 * Only paths inside the pool exist on the emulated router; `.` and `..` components are refused.
 */
export class PathMapper {
  constructor(
    readonly poolName: string,
    readonly mountPath: string,
  ) {}

  /** Components after the pool name, or undefined when the path is not inside the pool. */
  components(routerPath: string): string[] | undefined {
    const parts = routerPath.split("/").filter((p) => p !== "");
    if (parts[0] !== this.poolName) return undefined;
    if (parts.some((p) => p === "." || p === "..")) return undefined;
    return parts.slice(1);
  }

  toHost(routerPath: string): string | undefined {
    const parts = this.components(routerPath);
    return parts === undefined ? undefined : path.join(this.mountPath, ...parts);
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
