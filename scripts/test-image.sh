#!/usr/bin/env bash
# npm run test:image: builds the controller and node images from a locally made base (cached
# after the first run) and runs test/image/*.image.ts against them with testcontainers.
# Starts podman's Docker-compatible API service unless one already answers at DOCKER_HOST, and
# stops the one it started; removes every container of this run and sweeps mounts and loop
# devices, also when a test fails. Needs root, podman, mmdebstrap (.ci/install.d/50-podman.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOCKER_HOST="${DOCKER_HOST:-unix:///run/podman/podman.sock}"
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
export RDS_CSI_TEST_RUN="run-$$-$(date +%s)"
export RDS_CSI_IMAGE_TEST_DIR="${TMPDIR:-/tmp}/rds-csi-image-$RDS_CSI_TEST_RUN"
export NODE_ENV=test

if ! command -v podman >/dev/null; then
  echo "test:image: FAILED: podman is not installed (run ./setup.sh, or .ci/install.d/50-podman.sh)" >&2
  exit 1
fi

service_pid=""
tests_pid=""
finish() {
  local status=$?
  set +e
  local left
  # The tests run in a process group of their own: whatever of it outlived vitest (csi-sanity, a
  # worker) stops before its containers are removed.
  if [ -n "$tests_pid" ] && kill -TERM -- "-$tests_pid" 2>/dev/null; then
    sleep 5
    kill -KILL -- "-$tests_pid" 2>/dev/null
  fi
  left="$(podman ps --all --quiet --filter "label=rds-csi.test-run=$RDS_CSI_TEST_RUN")"
  if [ -n "$left" ]; then
    echo "test:image: removing containers the tests left: $left" >&2
    # shellcheck disable=SC2086
    podman rm --force --time 5 $left >/dev/null
    status=1
  fi
  node --import tsx test/image/sweep.ts "$RDS_CSI_IMAGE_TEST_DIR" || status=1
  if [ -n "$service_pid" ]; then
    kill "$service_pid" 2>/dev/null
    wait "$service_pid" 2>/dev/null
  fi
  [ "$status" -eq 0 ] && echo "test:image: passed" || echo "test:image: FAILED (exit $status)" >&2
  exit "$status"
}
trap finish EXIT
trap "exit 130" INT TERM

socket="${DOCKER_HOST#unix://}"
if ! podman --remote --url "$DOCKER_HOST" version >/dev/null 2>&1; then
  mkdir -p "$(dirname "$socket")"
  podman system service --time=0 "$DOCKER_HOST" &
  service_pid=$!
  for _ in $(seq 100); do
    podman --remote --url "$DOCKER_HOST" version >/dev/null 2>&1 && break
    kill -0 "$service_pid" 2>/dev/null || { echo "test:image: podman system service exited" >&2; exit 1; }
    sleep 0.2
  done
fi

phase() { echo "::: test:image: $1 took $(($(date +%s) - $2)) s"; }
t=$(date +%s)
scripts/base-image.sh >/dev/null
phase "base image" "$t"
t=$(date +%s)
scripts/build-images.sh --local
phase "image build" "$t"
source scripts/image.env
for role in controller node; do
  podman image inspect --format "{{.Size}}" "$LOCAL_REGISTRY/rds-csi-$role:$(node -p 'require("./package.json").version')" |
    awk -v r="$role" '{ printf "::: test:image: %s image %.0f MB\n", r, $1 / 1e6 }'
done
t=$(date +%s)
setsid npx vitest run --config vitest.image.config.ts &
tests_pid=$!
wait "$tests_pid"
phase "tests" "$t"
