/**
 * Just enough of the Dockerfile and .dockerignore formats to check a build without a Docker
 * engine: instructions with their stage, COPY sources, and whether the build context keeps a path.
 */

export interface Instruction {
  keyword: string;
  /** Arguments as written, continuation lines joined. */
  rest: string;
  stage: string;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (line.trimStart().startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = "";
  }
  if (pending !== "") throw new Error("Dockerfile ends inside a continued line");
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`not an instruction: ${line}`);
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.replace(/\s+/g, " ").trim();
    if (keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`unreadable FROM: ${rest}`);
      stages.push({ name: from[2] ?? String(stages.length), base: from[1]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword === "ARG") continue;
      throw new Error(`${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, rest, stage: stage.name });
  }
  return stages;
}

export interface CopyInstruction {
  from?: string;
  sources: string[];
  destination: string;
}

export function parseCopy(rest: string): CopyInstruction {
  const words = rest.split(" ");
  let from: string | undefined;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift()!;
    if (flag.startsWith("--from=")) from = flag.slice("--from=".length);
  }
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${rest}`);
  const destination = words.pop()!;
  return { from, sources: words, destination };
}

/** The exec-form array of ENTRYPOINT or CMD. */
export function parseExecForm(rest: string): string[] {
  const value: unknown = JSON.parse(rest);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`not an exec-form array: ${rest}`);
  }
  return value;
}

/** Shell commands of a RUN, split at `&&` and pipes, each as words. */
export function runCommands(rest: string): string[][] {
  return rest
    .split(/&&|\|/)
    .map((c) => c.trim().split(" ").filter(Boolean))
    .filter((c) => c.length > 0);
}

function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*" && pattern[i + 1] === "*") {
      out += ".*";
      i++;
    } else if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else out += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/**
 * Whether .dockerignore keeps a path in the build context: patterns apply in order, the last one
 * matching the path or one of its parent directories wins, and `!` re-includes.
 */
export function inBuildContext(dockerignore: string, file: string): boolean {
  const patterns = dockerignore
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const body = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      return { negate, re: globToRegExp(body) };
    });
  const parts = file.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let included = true;
  for (const p of patterns) {
    if (prefixes.some((prefix) => p.re.test(prefix))) included = p.negate;
  }
  return included;
}
