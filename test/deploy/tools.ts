import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

/**
 * The tools test/deploy needs, found where .ci/install.d/30-deploy-tools.sh puts them. A missing
 * or different tool is an error, never a skip: CI must not pass without having checked anything.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const CHART_DIR = path.join(REPO_ROOT, "charts/rds-csi");
export const FULL_VALUES = path.join(CHART_DIR, "ci/full-values.yaml");
const INSTALL_HINT = "run `bash .ci/install.d/30-deploy-tools.sh` (the CI install step) first";

/** The pinned versions in scripts/deploy-tools.env. */
export function toolVersions(): Record<string, string> {
  const text = readFileSync(path.join(REPO_ROOT, "scripts/deploy-tools.env"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function pinned(name: string): string {
  const v = toolVersions()[name];
  if (!v) throw new Error(`scripts/deploy-tools.env has no ${name}`);
  return v;
}

function goBinary(): string {
  const onPath = spawnSync("go", ["version"], { encoding: "utf8" });
  if (onPath.status === 0) return "go";
  if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  throw new Error(`go is not installed; ${INSTALL_HINT}`);
}

function goEnv(name: string): string {
  return execFileSync(goBinary(), ["env", name], { encoding: "utf8" }).trim();
}

let helmPath: string | undefined;

/** The helm binary of the pinned version (HELM_BIN overrides where to look). */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  const candidate = process.env.HELM_BIN ?? path.join(goEnv("GOPATH"), "bin/helm");
  if (!existsSync(candidate)) throw new Error(`helm not found at ${candidate}; ${INSTALL_HINT}`);
  const version = execFileSync(candidate, ["version", "--template", "{{.Version}}"], {
    encoding: "utf8",
  }).trim();
  const want = pinned("HELM_VERSION");
  if (version !== want)
    throw new Error(`helm at ${candidate} is ${version}, expected ${want}; ${INSTALL_HINT}`);
  helmPath = candidate;
  return candidate;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, {
    encoding: "utf8",
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
    // No kubeconfig, no repositories, no plugins: rendering must not depend on the machine.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/root",
      HELM_NO_PLUGINS: "1",
      KUBECONFIG: "/dev/null",
    },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  release?: string;
  namespace?: string;
}

function templateArgs(opts: RenderOptions): string[] {
  const args = [
    "template",
    opts.release ?? "rds-csi",
    CHART_DIR,
    "--namespace",
    opts.namespace ?? "kube-system",
  ];
  for (const f of opts.valuesFiles ?? []) args.push("--values", f);
  for (const s of opts.set ?? []) args.push("--set", s);
  return args;
}

/** helm template; throws with helm's message when rendering fails. */
export function renderChart(opts: RenderOptions = {}): string {
  const r = helm(templateArgs(opts));
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return r.stdout;
}

/** helm template expected to fail; returns its error output. */
export function renderChartError(opts: RenderOptions): string {
  const r = helm(templateArgs(opts));
  if (r.status === 0)
    throw new Error(`helm template succeeded but was expected to fail (${JSON.stringify(opts)})`);
  return r.stderr;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Every object of a multi-document YAML stream; a YAML error or a non-object document throws. */
export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new Error("a manifest document is not an object");
    const obj = value as Partial<K8sObject>;
    if (
      typeof obj.apiVersion !== "string" ||
      typeof obj.kind !== "string" ||
      typeof obj.metadata?.name !== "string"
    ) {
      throw new Error(
        `a manifest lacks apiVersion, kind or metadata.name: ${JSON.stringify(value).slice(0, 200)}`,
      );
    }
    out.push(obj as K8sObject);
  }
  return out;
}

/** The directory of a Go module in the module cache, never downloading (GOPROXY=off). */
export function cachedModuleDir(moduleKey: string, versionKey: string): string {
  const spec = `${pinned(moduleKey)}@${pinned(versionKey)}`;
  const r = spawnSync(goBinary(), ["mod", "download", "-json", spec], {
    encoding: "utf8",
    env: { ...process.env, GOPROXY: "off", GOFLAGS: "-mod=mod" },
  });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(r.stdout) as typeof info;
  } catch {
    // Reported below with go's own message.
  }
  if (r.status !== 0 || !info.Dir || !existsSync(info.Dir)) {
    throw new Error(
      `${spec} is not in the Go module cache (${info.Error ?? r.stderr.trim()}); ${INSTALL_HINT}`,
    );
  }
  return info.Dir;
}
