#!/usr/bin/env bash
# Container engine for the image tests (test/image): Podman with runc, and mmdebstrap to make the
# local base image (no image registry is reachable; see scripts/base-image.sh). Two engine settings
# this machine needs: Debian's crun refuses the kernel's hybrid cgroup layout, and the root shell
# lacks CAP_SYS_RESOURCE, so podman's default rlimits (above the 20000 open-files hard limit) fail.
# Idempotent: a warm machine only re-checks the packages and the settings.
set -euo pipefail
pkgs=(podman runc mmdebstrap)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

conf=/etc/containers/containers.conf
want='# rds-csi: settings the image tests need on this machine (.ci/install.d/50-podman.sh)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"'
if [ ! -f "$conf" ] || ! grep -q '^# rds-csi:' "$conf"; then
  # Appending tables to a file that has its own could repeat them (invalid TOML): leave it to a person.
  if [ -f "$conf" ] && grep -qvE '^\s*(#.*)?$' "$conf"; then
    echo "50-podman: $conf has settings of its own; add these by hand:" >&2
    printf '%s\n' "$want" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >>"$conf"
fi
echo "50-podman: $(podman --version), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"
