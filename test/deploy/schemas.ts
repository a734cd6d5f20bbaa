import path from "node:path";
import { ManifestValidator } from "./k8s-schema.js";
import { cachedModuleDir } from "./tools.js";

/** The validator over the pinned schema sources that 30-deploy-tools.sh put in the module cache. */
export function createValidator(): ManifestValidator {
  const kubernetes = cachedModuleDir("KUBERNETES_MODULE", "KUBERNETES_VERSION");
  const snapshots = cachedModuleDir("SNAPSHOT_CRD_MODULE", "SNAPSHOT_CRD_VERSION");
  const prometheus = cachedModuleDir("PROMETHEUS_OPERATOR_MODULE", "PROMETHEUS_OPERATOR_VERSION");
  const snapshotCrds = ["volumesnapshotclasses", "volumesnapshots", "volumesnapshotcontents"].map((plural) =>
    path.join(snapshots, `config/crd/snapshot.storage.k8s.io_${plural}.yaml`),
  );
  return new ManifestValidator({
    openApiDir: path.join(kubernetes, "api/openapi-spec/v3"),
    crdFiles: [
      ...snapshotCrds,
      path.join(prometheus, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
    ],
  });
}
