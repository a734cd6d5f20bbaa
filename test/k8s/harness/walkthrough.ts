import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "./binaries.js";
import type { KubeObject } from "./kubectl.js";

/**
 * The snapshot walkthrough of docs/install.md, as steps the suite runs: each YAML block is the
 * file that the next `kubectl apply -f <file>` of the guide applies, and each shell line a
 * command. Running the guide itself is what keeps it true.
 */

export type Step = { kind: "apply"; file: string; objects: KubeObject[] } | { kind: "command"; line: string };

export const GUIDE = path.join(REPO_ROOT, "docs/install.md");
const SECTION = /^## \d+\. Walkthrough\b/m;

export function walkthroughSteps(text = readFileSync(GUIDE, "utf8")): Step[] {
  const start = text.search(SECTION);
  if (start < 0) throw new Error("docs/install.md has no Walkthrough section");
  const rest = text.slice(start + 3);
  const section = rest.slice(0, rest.search(/^## /m) < 0 ? undefined : rest.search(/^## /m));
  const steps: Step[] = [];
  let pending: KubeObject[] | undefined;
  for (const block of section.matchAll(/```(yaml|sh)\n([\s\S]*?)```/g)) {
    const [, lang, body] = block as unknown as [string, string, string];
    if (lang === "yaml") {
      if (pending) throw new Error("docs/install.md: two YAML blocks without a kubectl apply between them");
      pending = parseAllDocuments(body).map((d) => d.toJSON() as KubeObject);
      continue;
    }
    const lines = body.split("\n");
    if (pending && !lines.some((l) => l.startsWith("kubectl apply -f "))) {
      throw new Error("docs/install.md: a YAML block of the walkthrough is never applied");
    }
    for (const raw of lines) {
      // A comment after the command says what the reader sees; it is not part of the command.
      const line = raw.replace(/\s{2,}#.*$/, "").trim();
      if (line === "") continue;
      const apply = /^kubectl apply -f (\S+\.yaml)$/.exec(line);
      if (apply) {
        if (!pending) throw new Error(`docs/install.md: ${line} applies no YAML block`);
        steps.push({ kind: "apply", file: apply[1]!, objects: pending });
        pending = undefined;
      } else {
        steps.push({ kind: "command", line });
      }
    }
  }
  if (pending) throw new Error("docs/install.md: the walkthrough ends with a YAML block it never applies");
  return steps;
}

/**
 * Why a guide command is not run here, or undefined when it is: this cluster has no kubelet, so
 * nothing that needs a running pod can happen (the data path is proven by the e2e and sanity
 * suites), and a watch (`-w`) never ends on its own.
 */
export function notRunHere(line: string): string | undefined {
  if (/\bpod\/|\bexec\b|\blogs\b/.test(line)) return "needs a running pod";
  if (/\s-w\b/.test(line)) return "a watch; the suite waits for the same state itself";
  return undefined;
}

/** The example classes of the guide's "StorageClass and VolumeSnapshotClass" section. */
export function guideClasses(text = readFileSync(GUIDE, "utf8")): KubeObject[] {
  const start = text.search(/^## \d+\. StorageClass and VolumeSnapshotClass\b/m);
  if (start < 0) throw new Error("docs/install.md has no StorageClass and VolumeSnapshotClass section");
  const rest = text.slice(start + 3);
  const section = rest.slice(0, rest.search(/^## /m));
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) =>
    parseAllDocuments(m[1]!).map((d) => d.toJSON() as KubeObject),
  );
}
