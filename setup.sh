#!/usr/bin/env bash
# Prepares a fresh Debian machine for the demo and the tests: system packages and test tools
# (.ci/install.d/*.sh, idempotent), npm dependencies, and the build. Needs root (apt-get, and the
# emulator mounts a Btrfs image on a loop device).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
export PATH="$HOME/go/bin:/usr/local/go/bin:$PATH"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages; the emulator needs loop devices and mount)" >&2
  exit 1
fi
for step in .ci/install.d/*.sh; do
  echo "::: install: $step"
  bash "$step"
done
echo "::: npm install (locked)"
# Not `npm ci`: it insists that every optional platform binary named in the lock file (e.g. biome's
# macOS and Windows builds) can be resolved, and package mirrors often carry only this platform's.
# `npm install` installs the locked versions all the same; the check below keeps the lock authoritative.
npm install --no-audit --no-fund
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet -- package-lock.json; then
  echo "setup.sh: package-lock.json does not match package.json (npm install changed it); commit a lock made with npm install" >&2
  git diff --stat -- package-lock.json >&2
  exit 1
fi
echo "::: build"
npm run build
