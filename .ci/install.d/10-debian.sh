#!/usr/bin/env bash
# Debian packages: btrfs-progs for the emulator's pool, e2fsprogs/xfsprogs/util-linux for the node
# service's filesystems and loop devices, nvme-cli for the nvme-tcp transport's command checks,
# openssh-client to drive the emulator with a second, independent SSH implementation, openssl for
# the throwaway certificates of test/k8s's control plane.
set -euo pipefail
pkgs=(btrfs-progs e2fsprogs xfsprogs util-linux mount nvme-cli openssh-client openssl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
