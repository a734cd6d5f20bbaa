import { defineConfig } from "vitest/config";

// The image tests (test/image/*.image.ts): the built images under a container engine. They run
// one file at a time (each starts an emulator with its own loop device and privileged
// containers), through `npm run test:image`, which builds the images and starts the engine's API.
export default defineConfig({
  test: {
    include: ["test/image/**/*.image.ts"],
    testTimeout: 600_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    env: {
      DOCKER_HOST: process.env.DOCKER_HOST ?? "unix:///run/podman/podman.sock",
      // The reaper image cannot be pulled here; the tests and the runner remove what they start.
      TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? "true",
      // The CI machine has a /.dockerenv: without this testcontainers looks for a gateway address.
      TESTCONTAINERS_HOST_OVERRIDE: process.env.TESTCONTAINERS_HOST_OVERRIDE ?? "127.0.0.1",
    },
  },
});
