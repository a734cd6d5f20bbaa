import { defineConfig } from "vitest/config";

/*
 * The real-Kubernetes suite (`npm run test:k8s`): etcd, kube-apiserver, kube-controller-manager,
 * the chart installed with helm, the CSI sidecars and the driver as processes (test/k8s). Kept out
 * of vitest.config.ts because it needs the binaries of .ci/install.d/60-kubernetes.sh and shares
 * one cluster across its files, which therefore run one after the other.
 */
export default defineConfig({
  test: {
    include: ["test/k8s/*.k8s.ts"],
    globalSetup: ["test/k8s/harness/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
