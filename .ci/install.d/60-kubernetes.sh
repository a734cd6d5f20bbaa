#!/usr/bin/env bash
# Kubernetes components for test/k8s, built from the Go module proxy at the versions pinned in
# scripts/k8s-tools.env: etcd, kube-apiserver, kube-controller-manager, kubectl, snapshot-controller,
# csi-snapshotter, csi-provisioner, csi-resizer and csi-attacher. The binaries are cached by a hash of those
# versions in ~/.cache/rds-csi/k8s/<hash>/bin, so a warm machine spends well under a second here and
# a version bump builds a fresh set beside the old one. Prints the bin directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
env_file=scripts/k8s-tools.env
# shellcheck source=../../scripts/k8s-tools.env
source "$env_file"

export PATH="$HOME/go/bin:/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "60-kubernetes: go is required" >&2; exit 1; }

# The snapshot CRDs test/k8s installs come with this module; a no-op once it is in the module cache.
go mod download "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION"

hash="$(grep -E '^[A-Z_]+=' "$env_file" | sha256sum | cut -c1-16)"
root="${RDS_CSI_K8S_CACHE:-$HOME/.cache/rds-csi/k8s}/$hash"
bin="$root/bin"
if [ -f "$root/complete" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

gomod_of() { go mod download -json "$1" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p'; }

# The replace directives of $1@$2 rewritten for a module that requires it: a dependency's replaces
# are ignored by Go, and a path replace (./staging/src/k8s.io/api, ./client) names a module the
# proxy serves on its own, published at version $3.
replaces_of() {
  local mod="$1" version="$2" published="$3"
  go mod edit -json "$(gomod_of "$mod@$version")" | python3 -c '
import json, sys
published = sys.argv[1]
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"]["Path"], r["New"]
    if new["Path"].startswith("."):
        print("replace", old, "=>", old, published)
    else:
        print("replace", old, "=>", new["Path"], new["Version"])
' "$published"
}

# Builds the packages $3.. of module $1@$2 into $bin, in a wrapper module holding the target's
# replaces, with ldflags $LDFLAGS. Skips when every binary is already there.
build() {
  local mod="$1" version="$2" published="$3"
  shift 3
  local missing=0 pkg
  for pkg in "$@"; do [ -x "$bin/${pkg##*/}" ] || missing=1; done
  [ "$missing" = 1 ] || return 0
  local dir="$work/${mod//\//_}"
  mkdir -p "$dir/out"
  {
    echo "module rds-csi.local/k8s-build"
    echo "go $(go env GOVERSION | sed 's/^go//')"
    echo "require $mod $version"
    replaces_of "$mod" "$version" "$published"
  } >"$dir/go.mod"
  echo "60-kubernetes: building $* ($mod $version)" >&2
  local start=$SECONDS
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $LDFLAGS" -o out/ "$@")
  mv "$dir"/out/* "$bin/"
  echo "60-kubernetes: built $* in $((SECONDS - start)) s" >&2
}

kube_minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
kube_staging="v0.${KUBERNETES_VERSION#v1.}"
# Without these, the servers report v0.0.0 and clients that check the server version refuse it.
LDFLAGS=""
for var in gitVersion=$KUBERNETES_VERSION gitMajor=1 gitMinor=$kube_minor gitTreeState=clean \
  buildDate=1970-01-01T00:00:00Z; do
  LDFLAGS+=" -X k8s.io/component-base/version.$var -X k8s.io/client-go/pkg/version.$var"
done
build k8s.io/kubernetes "$KUBERNETES_VERSION" "$kube_staging" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl

LDFLAGS="-X main.version=$SNAPSHOTTER_VERSION"
build github.com/kubernetes-csi/external-snapshotter/v8 "$SNAPSHOTTER_VERSION" "$SNAPSHOTTER_VERSION" \
  github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller \
  github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter
LDFLAGS="-X main.version=$PROVISIONER_VERSION"
build github.com/kubernetes-csi/external-provisioner/v6 "$PROVISIONER_VERSION" "$PROVISIONER_VERSION" \
  github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
LDFLAGS="-X main.version=$RESIZER_VERSION"
build github.com/kubernetes-csi/external-resizer/v2 "$RESIZER_VERSION" "$RESIZER_VERSION" \
  github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer
LDFLAGS="-X main.version=$ATTACHER_VERSION"
build github.com/kubernetes-csi/external-attacher/v4 "$ATTACHER_VERSION" "$ATTACHER_VERSION" \
  github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher

# etcd's own main package lives in a module that is not published; etcdmain is.
if [ ! -x "$bin/etcd" ]; then
  dir="$work/etcd"
  mkdir -p "$dir"
  printf 'module rds-csi.local/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$(go env GOVERSION | sed 's/^go//')" "$ETCD_VERSION" >"$dir/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$dir/main.go"
  echo "60-kubernetes: building etcd $ETCD_VERSION" >&2
  start=$SECONDS
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .)
  echo "60-kubernetes: built etcd in $((SECONDS - start)) s" >&2
fi

touch "$root/complete"
echo "$bin"
