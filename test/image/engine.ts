/**
 * The container engine and the project's images, as the image tests use them: testcontainers
 * talks to the engine at DOCKER_HOST (podman's Docker-compatible API in CI), never pulls, and
 * labels every container with this run's id so the runner can remove leftovers of a crash.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getContainerRuntimeClient, ImageName, type ImagePullPolicy } from "testcontainers";

const REPO_ROOT = join(import.meta.dirname, "../..");

/** The images are built locally (scripts/build-images.sh --local); there is no registry to pull from. */
export const NEVER_PULL: ImagePullPolicy = { shouldPull: () => false };

export const RUN_LABEL = "rds-csi.test-run";
export const RUN_ID = process.env.RDS_CSI_TEST_RUN ?? `pid-${process.pid}`;

export type Role = "controller" | "node";

/** The tag scripts/build-images.sh --local gives an image. */
export function imageName(role: Role): string {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string })
    .version;
  return `${process.env.RDS_CSI_IMAGE_REGISTRY ?? "localhost"}/rds-csi-${role}:${version}`;
}

/**
 * Fails, with what to do, unless an engine answers and both images exist: an image test that
 * cannot run must fail, never pass by skipping its body.
 */
export async function requireEngineAndImages(): Promise<void> {
  const where = process.env.DOCKER_HOST ?? "(DOCKER_HOST unset)";
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch (err) {
    throw new Error(
      `no container engine at ${where}: ${err instanceof Error ? err.message : String(err)}. ` +
        "Run the image tests with `npm run test:image` (it starts podman's API service), see the README.",
    );
  }
  for (const role of ["controller", "node"] as const) {
    const name = imageName(role);
    if (!(await client.image.exists(ImageName.fromString(name)))) {
      throw new Error(`image ${name} does not exist: build it with scripts/build-images.sh --local`);
    }
  }
}
