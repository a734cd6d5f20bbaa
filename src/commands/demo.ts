import { type Command, Option } from "commander";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "start an RDS emulator and the driver, then run volume → write → snapshot → overwrite → restore → verify (needs root)",
    )
    .addOption(
      new Option("--fs-type <type>", "filesystem of the demo volumes")
        .choices(["ext4", "xfs"])
        .default("ext4"),
    )
    .option("--keep", "keep the working directory (emulator image, logs) after the run")
    .action(async (opts: { fsType: "ext4" | "xfs"; keep?: boolean }) => {
      // Loaded on use: the driver's processes share this CLI and never run the demo.
      const { runDemo } = await import("../demo/run-demo.js");
      process.exitCode = await runDemo({ fsType: opts.fsType, keep: opts.keep ?? false });
    });
}
