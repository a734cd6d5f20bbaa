import { defineConfig } from "vitest/config";

/*
 * The suites in rings, by what they need (README, "Tests"):
 *   pure      no root, no emulator, no external tools: parsers, builders, classifiers, config;
 *             seconds, for someone changing one module (`npm run test:unit`).
 *   tools     helm, the Kubernetes schemas and the official csi.proto from the Go module cache.
 *   emulator  root, loop devices and real Btrfs: the emulator, the RouterOS client, the controller
 *             and node services, the sidecar contract, security, reconciler, end to end.
 *   slow      the fault matrix and restart safety: every command of every operation faulted.
 */
const pure = [
  "test/unit/config.test.ts",
  "test/unit/matrix.test.ts",
  "test/unit/csi/**/*.test.ts",
  "test/unit/observability/**/*.test.ts",
  "test/unit/lineage/**/*.test.ts",
  "test/unit/schedule/**/*.test.ts",
  "test/rds/unit/**/*.test.ts",
  "test/controller/storage-pure.test.ts",
  "test/node/mountinfo.test.ts",
  "test/node/nvme-sysfs.test.ts",
  "test/node/nvme-transport.test.ts",
  "test/node/validate.test.ts",
  "test/reconcile/classify.test.ts",
  "test/reconcile/attachments.test.ts",
  "test/sim/cli.test.ts",
  "test/sim/layout.test.ts",
  "test/sim/sizes.test.ts",
  "test/sim/scope.test.ts",
  "test/doctor/report.test.ts",
];
const tools = ["test/deploy/**/*.test.ts", "test/unit/proto-*.test.ts"];
const slow = ["test/reliability/**/*.test.ts"];

export default defineConfig({
  test: {
    // Integration tests mount Btrfs images and spawn processes: give them room, and keep
    // files that share loop devices from stampeding a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "pure", include: pure } },
      { extends: true, test: { name: "tools", include: tools } },
      {
        extends: true,
        test: { name: "emulator", include: ["test/**/*.test.ts"], exclude: [...pure, ...tools, ...slow] },
      },
      { extends: true, test: { name: "slow", include: slow } },
    ],
  },
});
