import { z } from "zod";

export const faultRuleSchema = z
  .object({
    /** Regular expression tested against the whole exec line. */
    match: z.string().default(""),
    action: z.enum([
      "drop-before",
      "drop-after",
      "delay",
      "delay-reply",
      "fail",
      "drop-after-bytes",
      "pad-reply",
    ]),
    /** `delay` (before running) and `delay-reply` (after running, before replying), in milliseconds. */
    ms: z.number().int().min(0).optional(),
    /** `fail`: the text printed instead of running the line (e.g. `failure: not enough space`). */
    error: z.string().optional(),
    /** `drop-after-bytes`: bytes of the reply sent before the connection is cut; `pad-reply`: bytes added to the reply. */
    bytes: z.number().int().min(0).optional(),
    /** How many matching lines the rule affects; absent = until cleared. */
    times: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const need = {
      delay: "ms",
      "delay-reply": "ms",
      fail: "error",
      "drop-after-bytes": "bytes",
      "pad-reply": "bytes",
    } as const;
    const field = need[rule.action as keyof typeof need];
    if (field && rule[field] === undefined)
      ctx.addIssue({ code: "custom", message: `${rule.action} needs ${field}` });
    try {
      new RegExp(rule.match);
    } catch {
      ctx.addIssue({ code: "custom", message: `match is not a valid regular expression: ${rule.match}` });
    }
  });

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.infer<typeof faultRuleSchema> & { readonly id: number; remaining?: number };

/** Fault rules for the next exec lines; each matching line consumes one use of every rule it matches. */
export class FaultInjector {
  private nextId = 1;
  private rules: FaultRule[] = [];

  add(input: unknown): FaultRule {
    const parsed = faultRuleSchema.safeParse(input);
    if (!parsed.success)
      throw new Error(`invalid fault rule: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    const rule: FaultRule = { ...parsed.data, id: this.nextId++ };
    if (parsed.data.times !== undefined) rule.remaining = parsed.data.times;
    this.rules.push(rule);
    return rule;
  }

  clear(): void {
    this.rules = [];
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  /** The rules that apply to this line, in the order they were added. */
  take(line: string): FaultRule[] {
    const hits = this.rules.filter((r) => new RegExp(r.match).test(line));
    for (const r of hits) if (r.remaining !== undefined) r.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining === undefined || r.remaining > 0);
    return hits;
  }
}
