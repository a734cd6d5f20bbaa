import type { MenuSpec } from "../schema.js";
import type { SimWorld } from "../world.js";
import { diskMenu } from "./disk.js";
import { fileMenu } from "./file.js";
import { btrfsMenu } from "./filesystem.js";
import { globalsMenu } from "./globals.js";
import { ipMenu } from "./ip.js";
import { logMenu } from "./log.js";
import { subvolumeMenu } from "./subvolume.js";
import { systemMenu } from "./system.js";
import { userMenu } from "./user.js";

/** The command tree the parser resolves words against, plus the `:`-prefixed script commands. */
export function buildMenus(world: SimWorld): { root: MenuSpec; globals: MenuSpec } {
  const disk = diskMenu(world, [btrfsMenu(world, subvolumeMenu(world))]);
  const root: MenuSpec = {
    name: "",
    path: "/",
    menus: [disk, fileMenu(world), systemMenu(world), logMenu(world), ipMenu(world), userMenu(world)],
    commands: [],
  };
  return { root, globals: globalsMenu() };
}
