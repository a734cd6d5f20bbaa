import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRdsError } from "../../../src/rds/errors.js";
import { parseAsValue } from "../../../src/rds/parse/as-value.js";
import { JsonNumber, parseJson, parseJsonRecords } from "../../../src/rds/parse/json.js";
import { decodeDisk, decodeSubvolume } from "../../../src/rds/records.js";

describe("parseAsValue", () => {
  it("splits records at .id and keeps exact numbers", () => {
    const text =
      ".id=*1F;comment=;disabled=false;file-path=/pool/vols/pvc-1/disk.img;file-size=1073741824;nvme-tcp-export=true;" +
      "nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:pvc-1;nvme-tcp-server-port=4420;size=1073741824;slot=pvc-1;type=file;" +
      ".id=*20;disabled=true;slot=pvc-2;type=file\r\n";
    const items = parseAsValue(text);
    expect(items).toHaveLength(2);
    const disk = decodeDisk(items[0]!);
    expect(disk).toMatchObject({
      id: "*1F",
      slot: "pvc-1",
      fileSize: 1073741824n,
      nvmeExport: true,
      nvmePort: 4420,
      comment: null,
    });
    expect(decodeDisk(items[1]!)).toMatchObject({
      id: "*20",
      slot: "pvc-2",
      disabled: true,
      nvmeExport: false,
    });
  });

  it("keeps a ';' inside a value when what follows cannot be the next key", () => {
    const [item] = parseAsValue(".id=*1;comment=a;b=c;x;slot=pvc-1\r\n");
    expect(item!.properties.get("comment")).toBe("a;b=c;x");
    expect(item!.properties.get("slot")).toBe("pvc-1");
  });

  it("ends a value that itself ends in ';' at the next key", () => {
    const [item] = parseAsValue('.id=*4;comment=hi "there" $x ;;compress=false;slot=pvc-1\r\n');
    expect(item!.properties.get("comment")).toBe('hi "there" $x ;');
    expect(item!.properties.get("compress")).toBe("false");
  });

  it("returns no records for empty output and refuses what is not as-value", () => {
    expect(parseAsValue("\r\n")).toEqual([]);
    expect(() => parseAsValue("not as-value")).toThrowError(expect.objectContaining({ kind: "protocol" }));
  });

  it("reads a line that :put wrapped at the session width, cut mid-key and mid-value", () => {
    const line =
      ".id=*1F;file-path=/pool/vols/pvc-1/disk.img;file-size=1073741824;slot=pvc-1;.id=*20;slot=pvc-2";
    for (const width of [1, 7, 13, 40]) {
      const wrapped = (line.match(new RegExp(`.{1,${width}}`, "g")) ?? []).join("\r\n");
      const items = parseAsValue(`${wrapped}\r\n`);
      expect(items.map((i) => Object.fromEntries(i.properties))).toEqual([
        { ".id": "*1F", "file-path": "/pool/vols/pvc-1/disk.img", "file-size": "1073741824", slot: "pvc-1" },
        { ".id": "*20", slot: "pvc-2" },
      ]);
    }
  });
});

describe("parseJson", () => {
  it("keeps numbers exact as text", () => {
    const v = parseJson('{"size":123456789012345678901234567890,"f":-1.5e3}');
    expect(v).toBeInstanceOf(Map);
    const m = v as Map<string, unknown>;
    expect(m.get("size")).toEqual(new JsonNumber("123456789012345678901234567890"));
    expect(m.get("f")).toEqual(new JsonNumber("-1.5e3"));
  });

  it("reads integers RouterOS 7.2x serializes as floats exactly, even past 2^53", () => {
    const text =
      '[{".id":"*3","slot":"pvc-1","nvme-tcp-server-port":4420.000000,"file-size":2048.000000,' +
      '"size":9223372036854775807.000000,"free":0.000000,"neg":-0.000000,"ratio":1.500000}]\r\n';
    const [item] = parseJsonRecords(text);
    expect(item!.properties.get("nvme-tcp-server-port")).toBe("4420");
    expect(item!.properties.get("file-size")).toBe("2048");
    expect(item!.properties.get("size")).toBe("9223372036854775807");
    expect(item!.properties.get("free")).toBe("0");
    expect(item!.properties.get("neg")).toBe("0");
    // A real fraction is kept as printed: an integer property holding it is refused, not rounded.
    expect(item!.properties.get("ratio")).toBe("1.500000");
    const disk = decodeDisk(item!);
    expect(disk.nvmePort).toBe(4420);
    expect(disk.size).toBe(9223372036854775807n);
  });

  it("reads every number as its digits, whether a double holds it or not", () => {
    const numbers = [
      ["999999999999999", "999999999999999"],
      ["9007199254740993", "9007199254740993"],
      ["999999999999999.000000", "999999999999999"],
      ["9007199254740993.000000", "9007199254740993"],
      ["0", "0"],
      ["0.0", "0"],
      ["-0", "-0"],
      ["-7", "-7"],
      ["10.50", "10.50"],
      ["1.000001", "1.000001"],
      ["1e3", "1e3"],
      ["100E-2", "100E-2"],
      ["4.0e1", "4.0e1"],
    ];
    const text = `[{${numbers.map(([n], i) => `"n${i}":${n}`).join(",")}}]\r\n`;
    const [item] = parseJsonRecords(text);
    numbers.forEach(([source, expected], i) => {
      expect(item!.properties.get(`n${i}`), source).toBe(expected);
    });
    const m = parseJson(`{${numbers.map(([n], i) => `"n${i}":${n}`).join(",")}}`) as Map<string, unknown>;
    numbers.forEach(([source], i) => {
      expect(m.get(`n${i}`), source).toEqual(new JsonNumber(source as string));
    });
  });

  it("reads serialized listings into records", () => {
    const text =
      '[{".id":"*3","name":"pvc-1","fullname":"vols/pvc-1","fs":"pool","read-only":false,"snapshot":false,' +
      '"uuid":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","parent":"","creation-time":"2026-01-02 03:04:05"},' +
      '{".id":"*4","name":"snap-1","fullname":"snaps/snap-1","read-only":true,"snapshot":true,"parent":"vols/pvc-1",' +
      '"creation-time":"2026-01-02 03:05:00","devs":["a","b"]}]\r\n';
    const [vol, snap] = parseJsonRecords(text).map((i) => decodeSubvolume(i));
    expect(vol).toEqual({
      id: "*3",
      fs: "pool",
      name: "pvc-1",
      fullname: "vols/pvc-1",
      uuid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      parent: null,
      readOnly: false,
      snapshot: false,
      creationTime: new Date("2026-01-02T03:04:05Z"),
    });
    expect(snap).toMatchObject({ readOnly: true, snapshot: true, parent: "vols/pvc-1" });
  });

  it("treats an empty listing as no records", () => {
    expect(parseJsonRecords("[]\r\n")).toEqual([]);
    expect(parseJsonRecords("")).toEqual([]);
    expect(parseJsonRecords("{}")).toEqual([]);
  });

  it("never takes a string for a number, nor a number for a key", () => {
    expect(parseJson('["\\u0000N12","\\u0000S","\\u0000",12]')).toEqual([
      "\u0000N12",
      "\u0000S",
      "\u0000",
      new JsonNumber("12"),
    ]);
    const m = parseJson('{"\\u0000N1":1}') as Map<string, unknown>;
    expect([...m.keys()]).toEqual(["\u0000N1"]);
    for (const bad of ["{1:2}", '{"a":01}', "[1.]", "[.5]", "[-]", "[1e]", "[1 2]", '["a" "b"]']) {
      expect(() => parseJson(bad), bad).toThrowError(expect.objectContaining({ kind: "protocol" }));
    }
  });

  it("reads a listing of 10 000 records with exact 64-bit numbers", () => {
    const records = Array.from(
      { length: 10_000 },
      (_, i) =>
        `{".id":"*${i + 1}","name":"snap-${i}","size":${18446744073709551615n - BigInt(i)},"read-only":true}`,
    );
    const items = parseJsonRecords(`[${records.join(",")}]\r\n`);
    expect(items).toHaveLength(10_000);
    expect(items[9_999]?.properties.get("size")).toBe("18446744073709541616");
    expect(items[0]?.properties.get("name")).toBe("snap-0");
  });

  it("decodes escapes and refuses malformed JSON", () => {
    expect(parseJson('"a\\"b\\\\c\\u00e9\\n"')).toBe('a"b\\cé\n');
    for (const bad of ['{"a":1', "[1,]", '{"a" 1}', '"\\x"', "[1] 2", "tru", '"unterminated']) {
      expect(() => parseJson(bad), bad).toThrowError(expect.objectContaining({ kind: "protocol" }));
    }
  });

  it("property: JSON.stringify output parses to the same structure", () => {
    const toPlain = (v: unknown): unknown => {
      if (v instanceof JsonNumber) return Number(v.text);
      if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)]));
      if (Array.isArray(v)) return v.map(toPlain);
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(toPlain(parseJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("property: arbitrary text parses or raises a protocol error, and deep nesting is refused", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom("[", "]", "{", "}", '"', ":", ",", "1", "\\", "u", "e", "-", " "),
          maxLength: 200,
        }),
        (text) => {
          try {
            parseJson(text);
          } catch (err) {
            expect(isRdsError(err, "protocol")).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
    expect(() => parseJson("[".repeat(100_000))).toThrowError(expect.objectContaining({ kind: "protocol" }));
  });
});
