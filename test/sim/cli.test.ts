import { describe, expect, it } from "vitest";
import { fakeWorld, fileDisk } from "./fake-world.js";

const GiB = 1024n ** 3n;

function world(version?: string) {
  const pool = { ...fileDisk(1, "raid1", "", 0n), type: "raid" as const, pool: true };
  const w = fakeWorld({
    disks: [
      pool,
      fileDisk(2, "pvc-1", "/raid1/vols/pvc-1/disk.img", 5n * GiB, {
        nvmeTcpExport: true,
        nvmeTcpServerNqn: "nqn.2000-02.com.mikrotik:pvc-1",
        comment: "first",
      }),
      fileDisk(3, "pvc-2", "/raid1/vols/pvc-2/disk.img", GiB),
    ],
  });
  if (version) w.setSettings({ routeros_version: version });
  return w;
}

describe("parse errors abort the whole line with RouterOS wording and 1-based columns", () => {
  it.each([
    ["/zzz qqq print", "bad command name zzz (line 1 column 2)"],
    ["/disk qqq", "bad command name qqq (line 1 column 7)"],
    ["/disk print foo=bar", "expected end of command (line 1 column 13)"],
    ["/disk print bogus", "expected end of command (line 1 column 13)"],
    [":put 'a$b'", "syntax error (line 1 column 6)"],
    ["/disk set pvc-1 comment=x$y", "syntax error (line 1 column 26)"],
    ["/disk set pvc-1 comment=x\\y", "syntax error (line 1 column 26)"],
    ['/disk set pvc-1 comment="a\\qb"', "syntax error (line 1 column 27)"],
    ['/disk set pvc-1 comment="\\1f"', "syntax error (line 1 column 26)"],
    [':put "abc', "syntax error (line 1 column 10)"],
    ["/disk print\n", "syntax error (line 1 column 12)"],
    ["/disk print\r", "syntax error (line 1 column 12)"],
    ["/disk set pvc-1 comment= disabled=yes", "expected end of command (line 1 column 34)"],
    ["/disk print detail=yes", "expected end of command (line 1 column 19)"],
    ["/disk print where", "syntax error (line 1 column 18)"],
    ["/disk print where slot=", "expected input value (line 1 column 24)"],
    ['/disk print; /disk set pvc-1 comment="ü" x=1', "expected end of command (line 1 column 43)"],
  ])("%j → %s", async (line, message) => {
    const w = world();
    expect(await w.run(line)).toBe(`${message}\n`);
  });

  it("reports unknown arguments as `bad parameter` just after the name from 7.23", async () => {
    expect(await world("7.23").run("/disk print foo=bar")).toBe("bad parameter foo (line 1 column 16)\n");
    expect(await world("7.23.2").run("/disk print bogus")).toBe("bad parameter bogus (line 1 column 18)\n");
  });

  it("runs nothing when any command of the line fails to parse", async () => {
    const w = world();
    expect(await w.run("/disk set pvc-2 comment=changed; /disk bogus")).toBe(
      "bad command name bogus (line 1 column 40)\n",
    );
    expect(await w.run(":put [/disk get pvc-2 comment]")).toBe("\n");
  });

  it("stops at the first runtime error and keeps what already ran", async () => {
    const w = world();
    expect(
      await w.run("/disk set pvc-2 comment=a; /disk set nosuch comment=b; /disk set pvc-1 comment=c"),
    ).toBe("no such item\n");
    expect(await w.run(':put ([/disk get pvc-2 comment] . "/" . [/disk get pvc-1 comment])')).toBe(
      "a/first\n",
    );
  });
});

describe("runtime errors", () => {
  it.each([
    ["/disk remove nosuch", "no such item"],
    ["/disk remove 9", "no such item"],
    ["/disk remove *FF", "expected item id (line 1 column 14)"],
    ["/disk print where .id=*FF", "expected item id (line 1 column 23)"],
    ["/disk print where .id=x", "expected item id (line 1 column 23)"],
    [":put [/disk get [find slot=nosuch] slot]", "no such item"],
    [":put [/disk get pvc-1 nosuch]", "input does not match any value of value-name"],
    [":put [/disk get pvc-1 .id]", "input does not match any value of value-name"],
    ["/disk add type=foo", "input does not match any value of type"],
    ["/disk set pvc-1 disabled=maybe", "input does not match any value of disabled"],
    ["/disk set pvc-1 nvme-tcp-server-port=http", "invalid value for argument nvme-tcp-server-port"],
    ["/disk set pvc-1 nvme-tcp-server-port=70000", "invalid value for argument nvme-tcp-server-port"],
    ["/disk add type=file file-path=raid1/x.img file-size=1.5G", "invalid value for argument file-size"],
    ["/disk add file-path=raid1/x.img", "missing value(s) of argument(s) type"],
    [
      "/disk add type=file slot=pvc-1 file-path=raid1/x.img file-size=1G",
      "failure: item with such name already exists",
    ],
    [':error "custom failure"', "custom failure"],
  ])("%j → %s", async (line, message) => {
    expect(await world().run(line)).toBe(`${message}\n`);
  });

  it("treats an empty [find] as no target: remove is a silent no-op", async () => {
    const w = world();
    expect(await w.run("/disk remove [find slot=nosuch]")).toBe("");
    expect(await w.run("/disk print count-only")).toBe("3\n");
  });
});

describe("version gates", () => {
  it("has no nvme-tcp-server-nqn before 7.21 and does not print it", async () => {
    const w = world("7.20");
    expect(await w.run("/disk set pvc-1 nvme-tcp-server-nqn=x")).toBe(
      "expected end of command (line 1 column 17)\n",
    );
    expect(await w.run("/disk print detail where slot=pvc-1")).not.toContain("nqn");
  });

  it("has no subvolume menu before 7.18 and no file disks before 7.17", async () => {
    expect(await world("7.17").run("/disk/btrfs/subvolume/print")).toBe(
      "bad command name subvolume (line 1 column 13)\n",
    );
    expect(await world("7.16").run("/disk add type=file")).toBe("input does not match any value of type\n");
    expect(await world("7.12").run(":put [:serialize to=json 1]")).toBe(
      "bad command name serialize (line 1 column 8)\n",
    );
  });
});

describe("paths, abbreviations and chaining", () => {
  it("accepts slashes, spaces, relative menus and unique prefixes alike", async () => {
    const w = world();
    const expected = await w.run("/disk/print count-only");
    expect(expected).toBe("3\n");
    for (const line of [
      "/disk print count-only",
      "disk print count-only",
      "/di pr count-only",
      "/disk; print count-only",
    ]) {
      expect(await w.run(line)).toBe(expected);
    }
  });
});

describe("where", () => {
  const slots = async (w: ReturnType<typeof world>, expr: string) =>
    (await w.run(`:put [/disk find where ${expr}]`)).trim();

  it.each([
    ["slot=pvc-1", "*2"],
    ['slot="pvc-1"', "*2"],
    ['slot~"^pvc-"', "*2;*3"],
    ['slot~"pvc"', "*2;*3"],
    ['file-path="/raid1/vols/pvc-2/disk.img"', "*3"],
    ["file-path=/raid1/vols/pvc-2/disk.img", ""],
    ['model="/raid1/vols/pvc-2/disk.img"', "*3"],
    ["comment", "*2"],
    ['comment=""', ""],
    ["!comment", "*1;*3"],
    ["nvme-tcp-export", "*2"],
    ["nvme-tcp-export=yes", "*2"],
    ["nvme-tcp-export=no", "*1;*3"],
    ["file-size>2000000000", "*2"],
    ["file-size>=1G and file-size<2G", "*3"],
    ["slot=pvc-1 or slot=pvc-2", "*2;*3"],
    ["slot=pvc-1 || slot=raid1", "*1;*2"],
    ['(slot~"pvc")=false', "*1"],
    ["!(slot=pvc-1) && type=file", "*3"],
    [".id=*3", "*3"],
    ["use>=5", "*1"],
    ['mount-point="raid1"', "*1"],
    ["slot=pvc-1 nvme-tcp-export", "*2"],
  ])("where %s → %s", async (expr, ids) => {
    expect(await slots(world(), expr)).toBe(ids);
  });

  it("accepts find arguments as exact matches", async () => {
    const w = world();
    expect(await w.run(":put [/disk find slot=pvc-2]")).toBe("*3\n");
    expect(await w.run(':put [/disk find file-path="/raid1/vols/pvc-1/disk.img"]')).toBe("*2\n");
    expect(await w.run(":put [/disk find]")).toBe("*1;*2;*3\n");
  });
});

describe("script forms", () => {
  it("returns single values with get", async () => {
    const w = world();
    expect(await w.run(":put [/disk get pvc-1 file-size]")).toBe("5368709120\n");
    expect(await w.run(":put [/disk get [find slot=pvc-1] nvme-tcp-export]")).toBe("true\n");
    expect(await w.run(":put [/disk get 2 slot]")).toBe("pvc-2\n");
    expect(await w.run(":put [/disk get *3 size]")).toBe("1073741824\n");
  });

  it("prints as-value records on one line, .id first and keys sorted", async () => {
    // Width 0: a session without wrapping (`:put` wraps at the session width otherwise).
    const out = (await world().run(':put [/disk print detail as-value where slot~"pvc"]', 0)).trimEnd();
    const records = out.split(/;(?=\.id=)/);
    expect(records).toHaveLength(2);
    for (const record of records) {
      const keys = record.split(";").map((kv) => kv.slice(0, kv.indexOf("=")));
      expect(keys[0]).toBe(".id");
      expect(keys.slice(1)).toEqual([...keys.slice(1)].sort());
    }
    expect(records[0]).toContain(";file-size=5368709120;");
    expect(records[0]).toContain(";comment=first;");
    expect(records[0]).toContain(";nvme-tcp-export=true;");
    expect(records[1]).toContain(";nvme-tcp-export=false;");
  });

  it("serializes to JSON with exact numbers", async () => {
    const out = await world().run(
      ':put [:serialize to=json [/disk print detail as-value where slot="pvc-2"]]',
      0,
    );
    // RouterOS 7.2x prints integers as floats with six decimals; every digit is kept.
    expect(out).toContain('"file-size":1073741824.000000');
    const parsed = JSON.parse(out) as Array<Record<string, unknown>>;
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({
      ".id": "*3",
      slot: "pvc-2",
      "file-size": 1073741824,
      "block-device": true,
    });
  });

  it("prints nothing for a bare as-value print, and counts once", async () => {
    const w = world();
    expect(await w.run("/disk print detail as-value")).toBe("");
    expect(await w.run('/disk print count-only where slot~"pvc"')).toBe("2\n");
    expect(await w.run(':put [/disk print count-only where slot~"pvc"]')).toBe("2\n");
    // RouterOS 7.2x prints the menu's legend even when nothing matched.
    expect(await w.run("/disk print detail where slot=nosuch")).toMatch(
      /^Flags: X - DISABLED; .* m - MEDIA-SHARING\n$/,
    );
  });

  it("prints terse lines with strings unquoted", async () => {
    const out = await world().run("/disk print terse where slot=pvc-1");
    expect(out).toMatch(
      /^ 1 Bt comment=first type=file slot=pvc-1 slot-default= parent= fs=- model=\/raid1\/vols/,
    );
    expect(out.split("\n")).toHaveLength(2);
  });

  it("returns the new id from :put [/disk add …] (set-up only, no file)", async () => {
    const w = world();
    expect(await w.run(":put [/disk find where slot=pvc-1]")).toBe("*2\n");
  });

  it("prints system resource and identity with right-aligned keys", async () => {
    const w = world();
    expect(await w.run("/system identity print")).toBe("  name: RDS\n");
    const resource = (await w.run("/system resource print")).split("\n");
    expect(resource[1]).toBe("                  version: 7.22 (stable)");
    expect(resource.find((l) => l.includes("write-sect-since-reboot"))).toBe("  write-sect-since-reboot: 0");
    expect(await w.run(":put [/system resource get version]")).toBe("7.22 (stable)\n");
  });
});

describe("quoting and injection", () => {
  it("decodes escapes inside double quotes", async () => {
    const w = world();
    await w.run('/disk set pvc-2 comment="a\\"b\\\\c\\$d\\_e\\?f\\41"');
    expect(await w.run(":put [/disk get pvc-2 comment]")).toBe('a"b\\c$d e?fA\n');
    expect(w.injections).toEqual([]);
  });

  it("substitutes an undefined $var with nothing and logs it", async () => {
    const w = world();
    await w.run('/disk set pvc-2 comment="x$y z"');
    expect(await w.run(":put [/disk get pvc-2 comment]")).toBe("x z\n");
    expect(w.injections.map((i) => i.event)).toEqual([
      { kind: "variable", source: "$y", col: 27, result: "", quoted: true },
    ]);
  });

  it("runs a command inside a string, as RouterOS does, and logs it", async () => {
    const w = world();
    expect(await w.run('/disk set pvc-1 comment="gone:$[/disk remove pvc-2]"')).toBe("");
    expect(await w.run(":put [/disk find]")).toBe("*1;*2\n");
    expect(await w.run(":put [/disk get pvc-1 comment]")).toBe("gone:\n");
    expect(w.injections[0]?.event).toMatchObject({ kind: "command", source: "$[/disk remove pvc-2]" });
    expect(w.injections[0]?.line).toContain("comment=");
  });

  it("evaluates $(…) expressions inside strings", async () => {
    const w = world();
    expect(await w.run(':put "sum=$(1+2)"')).toBe("sum=3\n");
    expect(w.injections[0]?.event).toMatchObject({ kind: "expression", source: "$(1+2)", result: "3" });
  });

  it("treats ; inside quotes as data and outside as a second command", async () => {
    const w = world();
    await w.run('/disk set pvc-2 comment="a; /disk remove pvc-1"');
    expect(await w.run(":put [/disk find]")).toBe("*1;*2;*3\n");
    await w.run("/disk set pvc-2 comment=a; /disk remove pvc-1");
    expect(await w.run(":put [/disk find]")).toBe("*1;*3\n");
  });

  it("keeps text after # as a comment", async () => {
    expect(await world().run("/disk print count-only # a comment")).toBe("3\n");
  });
});

describe("version-gated commands", () => {
  it("renames format-drive to format in 7.19 and adds /file copy in 7.23", async () => {
    // Before 7.19 `format` is an unambiguous abbreviation of `format-drive`.
    expect(await world("7.18").run("/disk format pvc-1")).toContain("failure: ");
    expect(await world("7.18").run("/disk format-drive pvc-1")).toContain("failure: ");
    expect(await world("7.19").run("/disk format pvc-1")).toContain("failure: ");
    expect(await world("7.19").run("/disk format-drive pvc-1")).toBe(
      "bad command name format-drive (line 1 column 7)\n",
    );
    expect(await world("7.22").run("/file copy x name=y")).toBe("bad command name copy (line 1 column 7)\n");
  });
});

describe("supporting menus", () => {
  it("renames the router with /system identity set", async () => {
    const w = world();
    expect(await w.run("/system identity set name=rds-lab")).toBe("");
    expect(await w.run("/system identity print")).toBe("  name: rds-lab\n");
  });

  it("prints /ip ssh with the password option named as in the version", async () => {
    expect(await world().run(":put [/ip ssh get password-authentication]")).toBe("yes-if-no-key\n");
    expect(await world("7.20").run(":put [/ip ssh get always-allow-password-login]")).toBe("no\n");
    expect(await world().run(":put [/ip ssh get host-key-type]")).toBe("rsa\n");
  });

  it("lists /ip service with ssh enabled on the emulator's port", async () => {
    const w = world();
    expect(await w.run(":put [/ip service get [find name=ssh] port]")).toBe("2222\n");
    expect(await w.run(":put [/ip service find where !disabled]")).toBe("*4\n");
    expect(await w.run(":put [/ip service get ssh max-sessions]")).toBe("20\n");
  });

  it("samples /disk monitor-traffic once with RouterOS field names and units", async () => {
    const lines = (await world().run("/disk monitor-traffic pvc-2 once")).split("\n").slice(0, -1);
    expect(lines).toHaveLength(22);
    expect(lines[0]).toBe("                  slot: pvc-2");
    expect(lines[1]).toBe("              read-ops:     0");
    expect(lines[4]).toBe("             read-rate:  0bps");
    expect(lines.find((l) => l.includes("flush-time"))).toBe("            flush-time:   0ms");
    const record = await world().run(":put [/disk monitor-traffic pvc-2 once as-value]");
    expect(record).toMatch(/^slot=pvc-2;read-ops=0;read-ops-per-second=0;read-bytes=0;/);
  });
});

describe("enable and disable", () => {
  it("sets the X flag and drops the block device flag", async () => {
    const w = world();
    expect(await w.run("/disk disable pvc-2")).toBe("");
    expect(await w.run("/disk print detail where slot=pvc-2")).toMatch(
      /^Flags: X - DISABLED\n 2 X type=file /,
    );
    expect(await w.run(":put [/disk find where disabled]")).toBe("*3\n");
    expect(await w.run(":put [/disk get pvc-2 disabled]")).toBe("true\n");
    expect(await w.run("/disk enable [find where disabled]")).toBe("");
    expect(await w.run(":put [/disk find where disabled]")).toBe("\n");
  });
});
