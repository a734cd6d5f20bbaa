import type { Command } from "commander";
import { notYetAvailable } from "./not-yet.js";

export function registerDriverCommands(program: Command): void {
  for (const role of ["controller", "node", "all"] as const) {
    program
      .command(role)
      .description(`serve the CSI ${role === "all" ? "controller and node" : role} services`)
      .action(() => notYetAvailable(role));
  }
}
