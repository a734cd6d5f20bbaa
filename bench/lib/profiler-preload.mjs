// Loaded into the driver and emulator processes through NODE_OPTIONS="--import …" when a benchmark
// profiles them (node 20 refuses --cpu-prof in NODE_OPTIONS, and the child command lines are not
// ours to change). Plain JavaScript because it loads before tsx does.
//
// Samples the CPU from start-up; every SIGUSR2 closes the current profile into
// `<RDS_CSI_BENCH_PROFILE_DIR>/<pid>.<n>.cpuprofile` and starts the next, so each benchmark phase
// gets a profile of its own. The last one is written at exit.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";

const dir = process.env.RDS_CSI_BENCH_PROFILE_DIR;
if (dir && isMainThread) {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  let segment = 0;
  const start = () => {
    session.post("Profiler.enable");
    session.post("Profiler.setSamplingInterval", { interval: 1000 });
    session.post("Profiler.start");
  };
  // The in-process inspector answers synchronously, so this also works inside an `exit` handler.
  const dump = () => {
    session.post("Profiler.stop", (err, result) => {
      if (err || !result) return;
      const file = join(dir, `${process.pid}.${segment++}.cpuprofile`);
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  };
  start();
  process.on("SIGUSR2", () => {
    dump();
    start();
  });
  process.on("exit", dump);
}
