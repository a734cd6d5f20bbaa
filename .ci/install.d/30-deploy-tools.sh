#!/usr/bin/env bash
# Tools for test/deploy: helm (built from the Go module proxy) and the schemas every rendered
# manifest is validated against (Kubernetes OpenAPI v3, snapshot and ServiceMonitor CRDs), taken
# from Go module zips into the module cache. Idempotent: a warm machine spends well under a second.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../../scripts/deploy-tools.env
source scripts/deploy-tools.env

export PATH="$HOME/go/bin:/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "30-deploy-tools: go is required" >&2; exit 1; }
gobin="$(go env GOPATH)/bin"

installed=""
if [ -x "$gobin/helm" ]; then
  installed="$("$gobin/helm" version --template '{{.Version}}' 2>/dev/null || true)"
fi
if [ "$installed" != "$HELM_VERSION" ]; then
  echo "30-deploy-tools: building helm $HELM_VERSION"
  # Without these -X flags `helm version` prints only the minor, and the capabilities helm
  # assumes for templates and lint would be those of Kubernetes 1.20.
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$HELM_KUBE_MINOR"
  done
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

# `go mod download` is a no-op once the module is in the cache.
for mod in "$KUBERNETES_MODULE@$KUBERNETES_VERSION" \
  "$SNAPSHOT_CRD_MODULE@$SNAPSHOT_CRD_VERSION" \
  "$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION"; do
  go mod download "$mod"
done
echo "30-deploy-tools: helm $("$gobin/helm" version --template '{{.Version}}'), schemas in $(go env GOMODCACHE)"
