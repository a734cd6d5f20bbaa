#!/usr/bin/env bash
# Builds the controller and node images from the Dockerfile, tagged with package.json's version.
#   scripts/build-images.sh [--push] [registry]   from the official node image (registry defaults
#                                                 to the chart's image.registry)
#   scripts/build-images.sh --local               from a locally made base (scripts/base-image.sh),
#                                                 tagged localhost/…, for machines without a registry
# The engine is podman, or docker when podman is missing (CONTAINER_ENGINE overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

push=false
local=false
case "${1:-}" in
  --push) push=true; shift ;;
  --local) local=true; shift ;;
esac
registry="${1:-ghcr.io/rds-csi}"
version="$(node -p 'require("./package.json").version')"
engine="${CONTAINER_ENGINE:-$(command -v podman >/dev/null && echo podman || echo docker)}"

args=()
if $local; then
  # shellcheck source=image.env
  source scripts/image.env
  registry="$LOCAL_REGISTRY"
  args+=(--build-arg "NODE_IMAGE=$(scripts/base-image.sh)")
fi
# A machine whose own npm needs an extra CA (a TLS-intercepting proxy) needs it in the build too:
# mounted for the RUN steps only, so it reaches no image.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ] && [ "$engine" = podman ]; then
  args+=(--volume "$NODE_EXTRA_CA_CERTS:/run/build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi

for target in controller node; do
  image="$registry/rds-csi-$target:$version"
  "$engine" build "${args[@]}" --target "$target" --tag "$image" .
  if $push; then "$engine" push "$image"; fi
done
