#!/usr/bin/env bash
# csi-sanity, the CSI conformance suite (kubernetes-csi/csi-test), built from the Go module proxy.
set -euo pipefail
export PATH="$HOME/go/bin:/usr/local/go/bin:$PATH"
want="v5.4.0"
if [ -x "$HOME/go/bin/csi-sanity" ] && go version -m "$HOME/go/bin/csi-sanity" 2>/dev/null | grep -q "csi-test/v5.*$want"; then
  exit 0
fi
command -v go >/dev/null || { echo "csi-sanity needs a Go toolchain (go not found on PATH)" >&2; exit 1; }
go install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$want"
