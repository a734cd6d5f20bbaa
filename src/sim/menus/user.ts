import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import ssh2 from "ssh2";
import { RosError, rosErrors } from "../errors.js";
import type { ArgSpec, Invocation, MenuSpec } from "../schema.js";
import { NIL, num, type RosValue, str, toText } from "../values.js";
import { versionAtLeast } from "../version.js";
import type { SimWorld } from "../world.js";
import { readCommands, targetItems } from "./list-commands.js";
import type { Table, TableItem } from "./table.js";

/** RouterOS's answer to a key it cannot use (ECDSA included), measured on 7.20 and 7.23. */
const BAD_KEY = "unable to load key file (wrong format or bad passphrase)!";

interface AuthorizedKey {
  readonly line: string;
  readonly type: "ed25519" | "rsa";
  readonly bits: number;
  readonly fingerprint: string;
  readonly comment: string;
}

/** Bit length of an ssh-rsa public blob's modulus (string type, mpint e, mpint n). */
function rsaBits(blob: Buffer): number {
  let offset = 0;
  const next = () => {
    const length = blob.readUInt32BE(offset);
    const value = blob.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  next();
  next();
  const n = next();
  const first = n.findIndex((b) => b !== 0);
  return first < 0 ? 0 : (n.length - first) * 8 - Math.clz32(n[first] as number) + 24;
}

/** A user key RouterOS accepts (ssh-ed25519, ssh-rsa), or undefined. */
export function parseUserKey(line: string): AuthorizedKey | undefined {
  const parsed = ssh2.utils.parseKey(line.trim());
  const key = parsed instanceof Error ? undefined : Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || (key.type !== "ssh-ed25519" && key.type !== "ssh-rsa")) return undefined;
  const blob = key.getPublicSSH();
  const digest = createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
  return {
    line: line.trim(),
    type: key.type === "ssh-ed25519" ? "ed25519" : "rsa",
    bits: key.type === "ssh-ed25519" ? 256 : rsaBits(blob),
    fingerprint: `SHA256:${digest}`,
    comment: key.comment,
  };
}

/** `/user ssh-keys`: the emulator's authorized_keys file, one item per usable key. */
class KeyFile {
  constructor(private readonly file: string) {}

  async keys(): Promise<AuthorizedKey[]> {
    const text = await readFile(this.file, "utf8").catch(() => "");
    return text.split("\n").flatMap((l) => parseUserKey(l) ?? []);
  }

  async lines(): Promise<string[]> {
    return (await readFile(this.file, "utf8").catch(() => "")).split("\n").filter((l) => l.trim() !== "");
  }

  async write(lines: readonly string[]): Promise<void> {
    await writeFile(this.file, lines.map((l) => `${l}\n`).join(""));
  }
}

function keyTable(keys: KeyFile): Table {
  return {
    flags: [],
    columns: [
      { title: "USER", prop: "user", align: "left" },
      { title: "KEY-TYPE", prop: "key-type", align: "left" },
      { title: "BITS", prop: "bits", align: "right" },
      { title: "FINGERPRINT", prop: "fingerprint", align: "left" },
      { title: "INFO", prop: "info", align: "left" },
    ],
    properties: ["user", "key-type", "bits", "fingerprint", "info", "key-owner"],
    list: async (ctx) =>
      (await keys.keys()).map((k, i): TableItem => {
        const owner = versionAtLeast(ctx.version, "7.23") ? "info" : "key-owner";
        return {
          id: i + 1,
          name: k.fingerprint,
          flags: new Set<string>(),
          props: [
            { name: "user", value: str("admin"), style: "bare" },
            { name: "key-type", value: str(k.type), style: "bare" },
            { name: "bits", value: num(k.bits), style: "bare" },
            { name: "fingerprint", value: str(k.fingerprint), style: "bare" },
            { name: owner, value: str(k.comment), style: "quoted" },
          ],
        };
      }),
  };
}

async function addKey(keys: KeyFile, inv: Invocation, text: string): Promise<RosValue> {
  const user = inv.args.get("user");
  if (user !== undefined && toText(user) !== "admin") throw rosErrors.noMatch("user");
  const key = parseUserKey(text);
  if (!key) throw new RosError(BAD_KEY);
  const lines = await keys.lines();
  if (!lines.some((l) => parseUserKey(l)?.fingerprint === key.fingerprint))
    await keys.write([...lines, key.line]);
  return NIL;
}

async function removeKeys(keys: KeyFile, table: Table, inv: Invocation): Promise<RosValue> {
  const { targets } = await targetItems(inv, table);
  const gone = new Set(targets.map((t) => t.name));
  await keys.write((await keys.lines()).filter((l) => !gone.has(parseUserKey(l)?.fingerprint ?? "")));
  return NIL;
}

const user: ArgSpec = { name: "user", kind: "string" };

export function userMenu(world: SimWorld): MenuSpec {
  const keys = new KeyFile(world.ssh.authorizedKeysFile);
  const table = keyTable(keys);
  const sshKeys: MenuSpec = {
    name: "ssh-keys",
    path: "/user/ssh-keys",
    menus: [],
    commands: [
      ...readCommands(table),
      {
        name: "add",
        mutating: true,
        args: [user, { name: "key", kind: "string" }],
        run: (inv) => addKey(keys, inv, toText(inv.args.get("key") ?? str(""))),
      },
      {
        name: "import",
        mutating: true,
        args: [user, { name: "public-key-file", kind: "string" }],
        async run(inv) {
          const host = world.paths.toHost(toText(inv.args.get("public-key-file") ?? str("")));
          const text = host ? await readFile(host, "utf8").catch(() => undefined) : undefined;
          if (text === undefined) throw rosErrors.failure("file does not exist");
          return addKey(keys, inv, text);
        },
      },
      {
        name: "remove",
        mutating: true,
        args: [{ name: "numbers", kind: "items" }],
        unnamed: ["numbers"],
        run: (inv) => removeKeys(keys, table, inv),
      },
    ],
  };
  return { name: "user", path: "/user", menus: [sshKeys], commands: [] };
}
