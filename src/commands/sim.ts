import type { Command } from "commander";
import { notYetAvailable } from "./not-yet.js";

export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .description("run an RDS emulator: RouterOS CLI over SSH on a loop-mounted Btrfs image")
    .action(() => notYetAvailable("sim"));
}
