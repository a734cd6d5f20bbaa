#!/usr/bin/env bash
# Builds the controller and node images from the Dockerfile, tagged with package.json's version.
#   scripts/build-images.sh [--push] [registry]     (registry defaults to the chart's image.registry)
set -euo pipefail
cd "$(dirname "$0")/.."

push=false
if [ "${1:-}" = "--push" ]; then push=true; shift; fi
registry="${1:-ghcr.io/rds-csi}"
version="$(node -p 'require("./package.json").version')"

for target in controller node; do
  image="$registry/rds-csi-$target:$version"
  docker build --target "$target" --tag "$image" .
  if $push; then docker push "$image"; fi
done
