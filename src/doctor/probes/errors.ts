import { classifyReply } from "../../rds/index.js";
import type { ProbeContext } from "../probe.js";
import type { CheckResult } from "../report.js";

/**
 * RouterOS's wording of the storage failures the probes provoked (keys as the emulator's
 * `error_texts`), and whether the driver's classifier recognises each. Wording it does not know is
 * survivable (the driver reads the state back before deciding), but worth a bug report.
 */
export function errorTextsCheck(ctx: ProbeContext): CheckResult {
  const texts = ctx.facts.errorTexts;
  const keys = Object.keys(texts).sort();
  const unknown = keys.filter((k) => classifyReply(texts[k] ?? "")?.kind === "protocol");
  const kinds = keys.map((k) => `${k}: ${classifyReply(texts[k] ?? "")?.kind ?? "not an error"}`);
  return {
    id: "error_texts",
    kind: "setting",
    title: "Wording of storage failures",
    status: keys.length === 0 ? "error" : unknown.length === 0 ? "ok" : "warning",
    observed: keys.length === 0 ? "none provoked" : unknown.length === 0 ? "recognised" : "unrecognised",
    supported: keys.length === 0 ? null : true,
    note:
      unknown.length === 0
        ? `${keys.length} failures provoked, each classified (${kinds.join("; ")}); no_space is not provoked`
        : `not recognised by the classifier: ${unknown.join(", ")} (the driver reads the state back instead); please attach this report to an issue`,
    details: texts,
  };
}
