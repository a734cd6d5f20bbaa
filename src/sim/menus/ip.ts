import type { MenuSpec } from "../schema.js";
import { bool, num, str } from "../values.js";
import { versionAtLeast } from "../version.js";
import type { SimWorld } from "../world.js";
import { readCommands } from "./list-commands.js";
import { singletonMenu } from "./singleton.js";
import type { Table, TableItem } from "./table.js";

const SERVICES: ReadonlyArray<readonly [string, number, boolean]> = [
  ["telnet", 23, true],
  ["ftp", 21, true],
  ["www", 80, true],
  ["ssh", 22, false],
  ["www-ssl", 443, true],
  ["api", 8728, true],
  ["winbox", 8291, true],
  ["api-ssl", 8729, true],
];

/** `/ip service`: only SSH is enabled, on the port the emulator listens on. */
function serviceTable(world: SimWorld): Table {
  return {
    flags: [
      { letter: "X", name: "disabled" },
      { letter: "I", name: "invalid" },
    ],
    columns: [
      { title: "NAME", prop: "name", align: "left" },
      { title: "PORT", prop: "port", align: "right" },
      { title: "ADDRESS", prop: "address", align: "left" },
      { title: "VRF", prop: "vrf", align: "left" },
      { title: "MAX-SESSIONS", prop: "max-sessions", align: "right" },
    ],
    properties: ["name", "port", "address", "vrf", "max-sessions", "disabled"],
    list: async (ctx) =>
      SERVICES.map(([name, port, disabled], i): TableItem => {
        const isSsh = name === "ssh";
        return {
          id: i + 1,
          name,
          flags: new Set(disabled ? ["disabled"] : []),
          props: [
            { name: "name", value: str(name), style: "bare" },
            { name: "port", value: num(isSsh ? world.ssh.port : port), style: "bare" },
            { name: "address", value: str(""), style: "bare" },
            { name: "vrf", value: str("main"), style: "bare" },
            ...(isSsh
              ? [{ name: "max-sessions", value: num(ctx.settings.max_sessions), style: "bare" as const }]
              : []),
          ],
        };
      }),
  };
}

export function ipMenu(world: SimWorld): MenuSpec {
  const ssh = singletonMenu("ssh", "/ip/ssh", (ctx) => {
    const passwordName = versionAtLeast(ctx.version, "7.22")
      ? "password-authentication"
      : "always-allow-password-login";
    const password = ctx.settings.admin_password !== undefined;
    const passwordValue = versionAtLeast(ctx.version, "7.22")
      ? password
        ? "yes"
        : "yes-if-no-key"
      : password
        ? "yes"
        : "no";
    return [
      { name: "forwarding-enabled", text: "no", value: str("no") },
      { name: passwordName, text: passwordValue, value: str(passwordValue) },
      { name: "strong-crypto", text: "no", value: bool(false) },
      { name: "allow-none-crypto", text: "no", value: bool(false) },
      { name: "host-key-size", text: "2048", value: num(2048) },
      { name: "host-key-type", text: world.ssh.hostKeyType, value: str(world.ssh.hostKeyType) },
    ];
  });
  const service: MenuSpec = {
    name: "service",
    path: "/ip/service",
    menus: [],
    commands: readCommands(serviceTable(world)),
  };
  return { name: "ip", path: "/ip", menus: [ssh, service], commands: [] };
}
