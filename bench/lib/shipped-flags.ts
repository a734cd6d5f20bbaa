import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DOCKERFILE = fileURLToPath(new URL("../../Dockerfile", import.meta.url));

/**
 * The `node` flags the images start the driver with (their `ENTRYPOINT ["node", …flags,
 * "/app/dist/cli.js"]`), so the benchmark measures the program as shipped. Every image must use the
 * same flags; a Dockerfile that says otherwise stops the benchmark rather than measuring something else.
 */
export function shippedNodeFlags(dockerfile = readFileSync(DOCKERFILE, "utf8")): string[] {
  const entrypoints = [...dockerfile.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)].map(
    (m) => JSON.parse(m[1] as string) as string[],
  );
  const flags = entrypoints.map((argv) => {
    const script = argv.indexOf("/app/dist/cli.js");
    if (argv[0] !== "node" || script < 0) throw new Error(`unexpected ENTRYPOINT ${JSON.stringify(argv)}`);
    return argv.slice(1, script);
  });
  const first = flags[0];
  if (first === undefined) throw new Error("the Dockerfile has no ENTRYPOINT");
  if (flags.some((f) => f.join(" ") !== first.join(" "))) {
    throw new Error(`the images start node with different flags: ${JSON.stringify(flags)}`);
  }
  return first;
}
