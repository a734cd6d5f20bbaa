import type { Command } from "commander";
import { notYetAvailable } from "./not-yet.js";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("start an emulator and the driver, and run a snapshot/restore lifecycle end to end")
    .action(() => notYetAvailable("demo"));
}
