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
echo "::: npm ci (locked)"
# The lock is the only source of what gets installed: it must name every platform's optional
# packages (checked first, with a readable message), and `npm ci` refuses a lock that does not match
# package.json, never rewrites it, and fetches only this platform's packages.
node scripts/check-lock.mjs
npm ci --no-audit --no-fund
echo "::: build"
npm run build
