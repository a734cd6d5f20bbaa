import type { TestProject } from "vitest/node";
import { type ClusterInfo, startCluster } from "./cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

/** One cluster for every file of the suite; torn down after the last, also when tests failed. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cluster = await startCluster();
  process.stderr.write(`k8s suite: cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide("cluster", cluster.info);
  return () => cluster.stop();
}
