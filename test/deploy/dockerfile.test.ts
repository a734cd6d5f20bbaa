import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  inBuildContext,
  parseCopy,
  parseDockerfile,
  parseExecForm,
  runCommands,
  type Stage,
} from "./dockerfile.js";
import { REPO_ROOT } from "./tools.js";

// These tests read the Dockerfile, so they run without an engine: every path it copies exists in
// the build context, every command it runs belongs to the project, the base image or the packages
// it installs, and the images start the driver the way the chart calls it. test/image builds the
// images and runs them (npm run test:image).

const read = (f: string) => readFileSync(path.join(REPO_ROOT, f), "utf8");
const stages = parseDockerfile(read("Dockerfile"));
const dockerignore = read(".dockerignore");
const imageEnv = Object.fromEntries(
  read("scripts/image.env")
    .split("\n")
    .map((l) => /^([A-Z_]+)=(\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);
const pkg = JSON.parse(read("package.json")) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const instructions = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const last = (s: Stage, keyword: string) => instructions(s, keyword).at(-1)?.rest;

/** The Debian packages a stage installs with apt-get. */
const aptPackages = (s: Stage) =>
  instructions(s, "RUN").flatMap((i) =>
    runCommands(i.rest)
      .filter((c) => c[0] === "apt-get" && c.includes("install"))
      .flatMap((c) => c.slice(c.indexOf("install") + 1).filter((w) => !w.startsWith("-"))),
  );

/** Programs the node service runs, as named in src/node (`run("mkfs.ext4", ...)`). */
function programsRunByNodeCode(): string[] {
  const dir = path.join(REPO_ROOT, "src/node");
  const found = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
    for (const m of readFileSync(path.join(dir, f), "utf8").matchAll(/\brun\(\s*"([a-z0-9_.-]+)"/g))
      found.add(m[1]!);
  }
  return [...found].sort();
}

/** The Debian package that ships each program on this (Debian) machine, from one dpkg query. */
function debianPackagesOf(programs: string[]): Map<string, string> {
  const candidates = programs.flatMap((p) =>
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map((d) => `${d}/${p}`),
  );
  // dpkg exits non-zero when some candidate paths are unknown; the found ones are still printed.
  const r = spawnSync("dpkg", ["-S", ...candidates], { encoding: "utf8" });
  const owners = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^([^:]+): (\S+)$/.exec(line);
    if (m) owners.set(path.basename(m[2]!), m[1]!);
  }
  return owners;
}

describe("Dockerfile", () => {
  it("builds in stages: compile with dev dependencies, run with production ones", () => {
    expect(stages.map((s) => s.name)).toEqual([
      "build",
      "production-dependencies",
      "app",
      "controller-rootfs",
      "node-rootfs",
      "controller",
      "node",
    ]);
    expect(instructions(stage("build"), "RUN").map((i) => i.rest)).toEqual([
      "npm ci --ignore-scripts --no-audit --no-fund",
      "npm run build",
    ]);
    const production = instructions(stage("production-dependencies"), "RUN").map((i) => i.rest);
    expect(production[0]).toBe("npm ci --omit=dev --ignore-scripts --no-audit --no-fund");
    expect(production.slice(1).map((r) => r.split(" ")[0])).toEqual(["find"]);
    for (const name of ["build", "production-dependencies", "controller-rootfs", "node-rootfs"]) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument
      expect(stage(name).base, name).toBe("${NODE_IMAGE}");
    }
    // The runtime images are flattened root file systems plus the assembled app stage, so what
    // the rootfs stages delete does not linger in a lower layer.
    const copiesOf = (name: string) => instructions(stage(name), "COPY").map((i) => parseCopy(i.rest));
    const app = { from: "app", sources: ["/app"], destination: "/app" };
    expect(stage("controller").base).toBe("scratch");
    expect(copiesOf("controller")).toEqual([
      { from: "controller-rootfs", sources: ["/rootfs"], destination: "/" },
      app,
    ]);
    expect(stage("node").base).toBe("scratch");
    expect(copiesOf("node")).toEqual([{ from: "node-rootfs", sources: ["/"], destination: "/" }, app]);
  });

  it("defaults to the official Node 24 LTS image, and CI's local base has its Debian release and Node major", () => {
    const m = /^ARG NODE_IMAGE=node:(\d+)-([a-z]+)-slim$/m.exec(read("Dockerfile"));
    expect(m?.slice(1)).toEqual(["24", "bookworm"]);
    expect(imageEnv.DEBIAN_RELEASE).toBe(m?.[2]);
    expect(imageEnv.NODE_VERSION?.split(".")[0]).toBe(m?.[1]);
  });

  it("takes an extra CA for the build only as a build argument of the stages that run npm", () => {
    const text = read("Dockerfile");
    for (const s of stages) {
      const declares = instructions(s, "ARG").some((i) => i.rest === "NODE_EXTRA_CA_CERTS");
      const runsNpm = instructions(s, "RUN").some((i) => i.rest.startsWith("npm "));
      expect(declares, s.name).toBe(runsNpm);
      for (const kw of ["ENV", "COPY", "LABEL"]) {
        for (const i of instructions(s, kw))
          expect(i.rest, `${s.name} ${kw}`).not.toMatch(/CA_CERTS|ssl|\.crt/i);
      }
    }
    expect(text).not.toMatch(/ca-certificates/);
  });

  it("copies only paths that exist and that .dockerignore keeps in the build context", () => {
    const copies = stages.flatMap((s) =>
      instructions(s, "COPY").map((i) => ({ stage: s.name, ...parseCopy(i.rest) })),
    );
    const fromContext = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(4);
    for (const src of fromContext) {
      expect(existsSync(path.join(REPO_ROOT, src)), `${src} exists`).toBe(true);
      expect(inBuildContext(dockerignore, src), `${src} is in the build context`).toBe(true);
    }
    for (const c of copies.filter((x) => x.from !== undefined)) {
      const source = stages.findIndex((s) => s.name === c.from);
      const target = stages.findIndex((s) => s.name === c.stage);
      expect(source, `${c.stage} copies from earlier stage ${c.from}`).toBeGreaterThanOrEqual(0);
      expect(source).toBeLessThan(target);
    }
  });

  it("keeps host build output, modules, tests and history out of the build context", () => {
    for (const p of [
      "node_modules/ssh2/package.json",
      "dist/cli.js",
      "test/deploy/tools.ts",
      ".git/HEAD",
      "charts/rds-csi/Chart.yaml",
    ]) {
      expect(inBuildContext(dockerignore, p), p).toBe(false);
    }
    for (const p of ["src/cli.ts", "proto/csi.proto", "proto/csi.json", "package-lock.json"])
      expect(inBuildContext(dockerignore, p), p).toBe(true);
  });

  it("runs only the project's own npm scripts, the Debian package manager and file utilities", () => {
    const allowed = new Set(["npm", "apt-get", "rm", "find", "mkdir", "cp", "ldd", "grep", "xargs", "chmod"]);
    // What the rootfs stages may delete: apt's lists, and the base image's npm, corepack and yarn.
    const removable =
      /^(\/var\/lib\/apt\/lists\/\*|\/usr\/local\/(lib\/node_modules|include|share\/(doc|man)|bin\/(npm|npx|corepack|yarn|yarnpkg))|\/opt\/yarn-\*)$/;
    for (const s of stages) {
      for (const cmd of instructions(s, "RUN").flatMap((i) => runCommands(i.rest))) {
        expect(allowed.has(cmd[0]!), `${s.name}: ${cmd.join(" ")}`).toBe(true);
        if (cmd[0] === "npm" && cmd[1] === "run")
          expect(pkg.scripts[cmd[2]!], `npm script ${cmd[2]}`).toBeDefined();
        if (cmd[0] === "npm" && cmd[1] === "ci")
          expect(existsSync(path.join(REPO_ROOT, "package-lock.json"))).toBe(true);
        if (cmd[0] === "find") {
          // Deletes only type declarations and source maps, only below node_modules.
          expect([cmd[1], cmd.at(-1)]).toEqual(["node_modules", "-delete"]);
          const names = cmd.flatMap((w, i) => (cmd[i - 1] === "-name" ? [w.replace(/"/g, "")] : []));
          expect(names.length).toBeGreaterThan(0);
          for (const n of names) expect(n).toMatch(/^\*\.(d\.[cm]?ts|map)$/);
        }
        if (cmd[0] === "rm") {
          expect(cmd[1]).toBe("-rf");
          for (const p of cmd.slice(2)) expect(p, `${s.name} removes ${p}`).toMatch(removable);
        }
      }
    }
  });

  it("compiles the entry point the package declares, to the path the images start", () => {
    const tsconfig = JSON.parse(read("tsconfig.build.json")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    // Compiled file by file, then src/cli.ts bundled over dist/cli.js (scripts/bundle.mjs).
    expect(pkg.scripts.build).toBe("tsc -p tsconfig.build.json && node scripts/bundle.mjs");
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    const bundle = read("scripts/bundle.mjs");
    expect(bundle).toContain('entryPoints: { cli: "src/cli.ts" }');
    expect(bundle).toContain('const outdir = process.argv[2] ?? "dist";');
    expect(pkg.bin["rds-csi"]).toBe("dist/cli.js");
    expect(existsSync(path.join(REPO_ROOT, "src/cli.ts"))).toBe(true);
    for (const name of ["controller", "node"]) {
      // The V8 flag is the documented memory setting of both images (see the Dockerfile); the
      // benchmark runs the driver with the same flags (bench/lib/shipped-flags.ts).
      expect(parseExecForm(last(stage(name), "ENTRYPOINT")!), name).toEqual([
        "node",
        "--max-semi-space-size=1",
        "/app/dist/cli.js",
      ]);
    }
    expect(parseExecForm(last(stage("controller"), "CMD")!)).toEqual(["controller"]);
    expect(parseExecForm(last(stage("node"), "CMD")!)).toEqual(["node"]);
    // The app stage places dist/, proto/ and package.json (the version source) under /app.
    const appCopies = instructions(stage("app"), "COPY").map((i) => parseCopy(i.rest).destination);
    expect(appCopies).toEqual(["/app/node_modules", "/app/dist", "/app/proto/", "/app/package.json"]);
  });

  it("starts sub-commands the CLI has", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "--help"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const commands = r.stdout.split("\n").map((l) => /^\s{2}(\S+)/.exec(l)?.[1]);
    expect(commands).toContain("controller");
    expect(commands).toContain("node");
    // `podman run <controller image> doctor …` (docs/doctor.md): the entry point is the CLI itself.
    expect(commands).toContain("doctor");
  });

  it("runs the controller as a numeric non-root user and the node service as root", () => {
    expect(last(stage("controller"), "USER")).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(instructions(stage("node"), "USER")).toEqual([]);
    expect(aptPackages(stage("controller-rootfs"))).toEqual([]);
    // The controller's root file system is the node binary and the libraries ldd names for it.
    const rootfs = instructions(stage("controller-rootfs"), "RUN").flatMap((i) => runCommands(i.rest));
    expect(rootfs.map((c) => c[0])).toEqual(["mkdir", "cp", "ldd", "grep", "xargs", "chmod"]);
    expect(rootfs[1]).toEqual(["cp", "/usr/local/bin/node", "/rootfs/usr/local/bin/node"]);
    expect(last(stage("controller"), "ENV")).toMatch(/^PATH=\/usr\/local\/bin /);
  });

  it("installs in the node image the tools the issue names and every program the node code runs", () => {
    const packages = aptPackages(stage("node-rootfs"));
    for (const p of ["nvme-cli", "e2fsprogs", "xfsprogs", "util-linux", "mount", "btrfs-progs"]) {
      expect(packages, p).toContain(p);
    }
    const programs = programsRunByNodeCode();
    expect(programs).toEqual(
      expect.arrayContaining(["nvme", "blkid", "mount", "umount", "mkfs.ext4", "mkfs.xfs"]),
    );
    const owners = debianPackagesOf(programs);
    for (const program of programs) {
      const owner = owners.get(program);
      expect(owner, `${program}: no Debian package on this machine ships it`).toBeDefined();
      expect(packages, `${program} comes from ${owner}`).toContain(owner);
    }
  });

  it("skips install scripts only where the dependency works without them", () => {
    // ssh2 and cpu-features build optional native code; protobufjs only prints a version hint.
    const skippable = new Set(["node_modules/ssh2", "node_modules/cpu-features", "node_modules/protobufjs"]);
    const lock = JSON.parse(read("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const needed = Object.entries(lock.packages)
      .filter(([name, p]) => name !== "" && !p.dev && p.hasInstallScript)
      .map(([name]) => name)
      .filter((name) => !skippable.has(name));
    expect(needed).toEqual([]);
  });
});

describe("inBuildContext", () => {
  it("follows .dockerignore order, parents and negation", () => {
    const rules = "*\n!src\nsrc/**/*.test.ts\n# comment\n!keep.txt\n";
    expect(inBuildContext(rules, "src/a/b.ts")).toBe(true);
    expect(inBuildContext(rules, "src/a/b.test.ts")).toBe(false);
    expect(inBuildContext(rules, "keep.txt")).toBe(true);
    expect(inBuildContext(rules, "other/keep.txt")).toBe(false);
    expect(inBuildContext("", "anything")).toBe(true);
  });
});
