import { readFile } from "node:fs/promises";
import { v5 as uuidv5 } from "uuid";
import { isMissing } from "./sysfs.js";
import { checkNqn } from "./validate.js";

/** Where nvme-cli keeps the host NQN it presents to targets. */
export const HOST_NQN_FILE = "/etc/nvme/hostnqn";

const DERIVED_NQN_NAMESPACE = "0f5e2c3a-7d41-4b8e-9a6c-2f1d8e4b7c90";

/**
 * The NQN this node presents to the RDS, which ControllerPublishVolume allows: the one given, else
 * the host's `/etc/nvme/hostnqn` (what `nvme connect` sends by default), else one derived from the
 * node name (stable across restarts, in the UUID form nvme-cli generates). The node always passes
 * it explicitly to `nvme connect`, so what it advertises and what it presents are the same.
 */
export async function resolveHostNqn(options: {
  given?: string | undefined;
  file?: string | undefined;
  nodeName: string;
}): Promise<{ hostNqn: string; from: "given" | "file" | "derived" }> {
  if (options.given) return { hostNqn: checkNqn(options.given), from: "given" };
  const file = options.file ?? HOST_NQN_FILE;
  try {
    const text = (await readFile(file, "utf8")).trim();
    if (text !== "") return { hostNqn: checkNqn(text), from: "file" };
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return { hostNqn: derivedHostNqn(options.nodeName), from: "derived" };
}

export function derivedHostNqn(nodeName: string): string {
  return `nqn.2014-08.org.nvmexpress:uuid:${uuidv5(nodeName, DERIVED_NQN_NAMESPACE)}`;
}
