import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { parseStrictJson } from "../../helpers/strict-json.js";

describe("strict JSON check used on every log line", () => {
  it("accepts JSON whose objects name each key once", () => {
    expect(parseStrictJson('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toEqual({
      a: 1,
      b: { a: 2 },
      c: [{ a: 3 }, { a: 4 }],
    });
  });

  it.each([['{"a":1,"a":2}'], ['{"x":{"b":1,"b":2}}'], ['{"x":[1,{"c":1,"c":2}]}'], ['{"a":1,"\\u0061":2}']])(
    "rejects a duplicate key: %s",
    (text) => {
      expect(() => parseStrictJson(text)).toThrow(/duplicate key/);
    },
  );

  it("rejects what is not JSON", () => {
    expect(() => parseStrictJson("{a: 1}")).toThrow();
    expect(() => parseStrictJson("level=info")).toThrow();
  });

  it("a component's child logger names the program and the component once each", () => {
    const lines: string[] = [];
    const sink = { write: (s: string) => void lines.push(s.trim()) } as unknown as NodeJS.WritableStream;
    const root = createLogger("info", sink);
    root.child({ component: "rds" }).child({ rds: "10.0.0.1:22" }).info({ op: "x" }, "hello");
    root.info("root line");
    expect(lines).toHaveLength(2);
    const first = parseStrictJson(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ name: "rds-csi", component: "rds", rds: "10.0.0.1:22", op: "x" });
    expect(parseStrictJson(lines[1]!)).toMatchObject({ name: "rds-csi", msg: "root line" });
  });
});
