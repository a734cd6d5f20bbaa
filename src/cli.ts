#!/usr/bin/env node
import { Command } from "commander";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDoctorCommand } from "./commands/doctor.js";
import { registerDriverCommands } from "./commands/driver.js";
import { registerLineageCommand } from "./commands/lineage.js";
import { registerSimCommand } from "./commands/sim.js";
import { DRIVER_VERSION } from "./version.js";

const program = new Command();
program
  .name("rds-csi")
  .description("Kubernetes CSI driver for MikroTik ROSE Data Server, with an RDS emulator and a demo")
  .version(DRIVER_VERSION, "-v, --version")
  .showHelpAfterError();

registerDriverCommands(program);
registerSimCommand(program);
registerDemoCommand(program);
registerDoctorCommand(program);
registerLineageCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`rds-csi: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
