import { execFile } from "node:child_process";
import path from "node:path";

/**
 * The suite talks to the cluster the way a user does, with kubectl: objects go in as YAML or JSON,
 * state comes back as JSON. One small wrapper, so every call has the same kubeconfig, a timeout,
 * and an error that says which command failed and what kubectl printed.
 */

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

export class Kubectl {
  constructor(
    readonly bin: string,
    readonly kubeconfig: string,
  ) {}

  /** Runs kubectl; resolves with stdout, rejects with the command and stderr. */
  run(args: string[], stdin?: string, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        path.join(this.bin, "kubectl"),
        [`--kubeconfig=${this.kubeconfig}`, ...args],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(" ")}: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(stdin ?? "");
    });
  }

  /** Creates or updates objects (server-side apply keeps the request exactly what was written). */
  async apply(objects: KubeObject[] | string): Promise<void> {
    const input =
      typeof objects === "string"
        ? objects
        : JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
    await this.run(["apply", "--server-side", "--field-manager=rds-csi-k8s-test", "-f", "-"], input);
  }

  /** The object as JSON, or undefined when it does not exist. */
  async get<T = KubeObject>(resource: string, name: string, namespace?: string): Promise<T | undefined> {
    const out = await this.run(["get", resource, name, "-o", "json", "--ignore-not-found", ...ns(namespace)]);
    return out.trim() === "" ? undefined : (JSON.parse(out) as T);
  }

  async list<T = KubeObject>(resource: string, namespace?: string): Promise<T[]> {
    const out = await this.run(["get", resource, "-o", "json", ...(namespace ? ns(namespace) : ["-A"])]);
    return (JSON.parse(out) as { items: T[] }).items;
  }

  /** Deletes and waits until the object is gone (finalizers included). */
  async delete(resource: string, name: string, namespace?: string, timeoutMs = 60_000): Promise<void> {
    await this.run(
      [
        "delete",
        resource,
        name,
        "--ignore-not-found",
        "--wait=true",
        `--timeout=${Math.round(timeoutMs / 1000)}s`,
        ...ns(namespace),
      ],
      undefined,
      timeoutMs + 10_000,
    );
  }

  /** Polls `probe` until it returns a value other than undefined, or fails with what it saw last. */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** Events about the object of this kind and name, in whichever namespace they were recorded. */
  async eventsFor(
    kind: string,
    name: string,
  ): Promise<Array<{ reason: string; message: string; type: string }>> {
    const out = await this.run([
      "get",
      "events",
      "-A",
      "-o",
      "json",
      `--field-selector=involvedObject.kind=${kind},involvedObject.name=${name}`,
    ]);
    return (JSON.parse(out) as { items: Array<{ reason: string; message: string; type: string }> }).items;
  }
}

function ns(namespace: string | undefined): string[] {
  return namespace ? ["-n", namespace] : [];
}
