import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "./harness/binaries.js";
import { Kubectl } from "./harness/kubectl.js";

// deploy/ is for clusters without Helm: every file in it must be accepted by a real API server
// (schemas, defaulting, admission, RBAC references), exactly as a user would apply it.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);

describe("deploy/ against a real API server", () => {
  it("passes kubectl apply --dry-run=server -R -f deploy/", async () => {
    const out = await kubectl.run(["apply", "--dry-run=server", "-R", "-f", path.join(REPO_ROOT, "deploy")]);
    const lines = out.trim().split("\n");
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatch(/ \(server dry run\)$/);
  });
});
