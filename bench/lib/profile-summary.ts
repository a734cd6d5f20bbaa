import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * Reads a V8 .cpuprofile and says where the time went: idle versus busy, busy time by layer
 * (SSH, gRPC, the driver's own modules, the emulator, node internals, GC), and the functions
 * with the most self time.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameShare {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  layers: FrameShare[];
  topFunctions: FrameShare[];
}

const LAYERS: ReadonlyArray<[RegExp, string]> = [
  [/node_modules\/ssh2\//, "ssh2 (SSH protocol, crypto)"],
  [/node_modules\/(cpu-features|bcrypt-pbkdf|asn1)\//, "ssh2 (SSH protocol, crypto)"],
  [/node_modules\/@grpc\//, "gRPC"],
  [/node_modules\/(protobufjs|@protobufjs|long)\//, "protobuf"],
  [
    /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|on-exit-leak-free)/,
    "logging (pino)",
  ],
  [/node_modules\/(tsx|esbuild|get-tsconfig)\//, "tsx loader"],
  [/node_modules\/(zod|uuid)\//, "other libraries"],
  [/node_modules\//, "other libraries"],
  [/\/(src|dist)\/rds\/parse\//, "driver: RouterOS output parsers"],
  [/\/(src|dist)\/rds\//, "driver: RouterOS client"],
  [/\/(src|dist)\/storage\//, "driver: storage layout"],
  [/\/(src|dist)\/csi\//, "driver: CSI services"],
  [/\/(src|dist)\/sim\/(printer|values|sizes)\.ts/, "emulator: printing and values"],
  [/\/(src|dist)\/sim\/menus\//, "emulator: menus (tables, /file walk)"],
  [/\/(src|dist)\/sim\/(where-eval|where-parser)\.ts/, "emulator: where filters"],
  [/\/(src|dist)\/sim\/backend\//, "emulator: Btrfs and file backend"],
  [/\/(src|dist)\/sim\//, "emulator: interpreter and SSH front"],
  [/\/(src|dist)\//, "other project code"],
  [/^node:/, "node internals"],
];

/** Source maps of the program's own files by URL (null: it has none), read once per file. */
const sourceMaps = new Map<string, SourceMap | null>();

function sourceMapOf(url: string): SourceMap | null {
  let map = sourceMaps.get(url);
  if (map === undefined) {
    map = null;
    if (url.startsWith("file://") && !url.includes("/node_modules/")) {
      const path = `${fileURLToPath(url)}.map`;
      if (existsSync(path)) map = new SourceMap(JSON.parse(readFileSync(path, "utf8")));
    }
    sourceMaps.set(url, map);
  }
  return map;
}

/**
 * The frame as written: the driver runs bundled (dist/cli.js, dist/chunks/; scripts/bundle.mjs),
 * so its frames are mapped back through the bundle's source maps to the module they came from
 * (src/rds/…, node_modules/ssh2/…), which is what the layers below are told apart by.
 */
function originalFrame(frame: ProfileNode["callFrame"]): ProfileNode["callFrame"] {
  const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !("originalSource" in entry)) return frame;
  return { ...frame, url: new URL(entry.originalSource, frame.url).href, lineNumber: entry.originalLine };
}

function layerOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "V8/native (program)";
  if (url === "") return "native built-ins (JSON, crypto, buffers)";
  for (const [pattern, name] of LAYERS) if (pattern.test(url)) return name;
  return "other";
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const src = Math.max(url.lastIndexOf("/src/"), url.lastIndexOf("/dist/"));
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}

function shares(map: Map<string, number>, busyMs: number, limit: number): FrameShare[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
}

export function summarizeProfile(path: string, topN = 8): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  for (const node of profile.nodes) node.callFrame = originalFrame(node.callFrame);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(root)") continue;
    busyMs += ms;
    const layer = layerOf(node);
    layers.set(layer, (layers.get(layer) ?? 0) + ms);
    const label = url
      ? `${functionName || "(anonymous)"} ${shortUrl(url)}:${lineNumber + 1}`
      : functionName || "(anonymous)";
    functions.set(label, (functions.get(label) ?? 0) + ms);
  }
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    layers: shares(layers, busyMs, 12),
    topFunctions: shares(functions, busyMs, topN),
  };
}
