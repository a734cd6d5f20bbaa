# Two images from one build, one per role:
#   podman build --target controller -t <registry>/rds-csi-controller:<version> .
#   podman build --target node       -t <registry>/rds-csi-node:<version> .
# scripts/build-images.sh builds (and optionally pushes) both.
#
# NODE_IMAGE is any Debian bookworm image with Node 24 and npm laid out as in the official node
# images (/usr/local/bin/node, npm on the PATH). Where no registry is reachable,
# scripts/base-image.sh makes one locally and scripts/build-images.sh --local builds from it.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compile TypeScript with the full (dev) dependency set. No install scripts: only ssh2's optional
# native binding and esbuild's self-check have one, and the compiler needs neither.
# NODE_EXTRA_CA_CERTS is for builds behind a TLS-intercepting proxy: the path of a CA bundle the
# build mounts (podman build --volume), never copied into any image.
FROM ${NODE_IMAGE} AS build
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs scripts/
COPY src/ src/
RUN npm run build

# Production dependencies only. Install scripts only build optional native speed-ups (ssh2's
# crypto binding, cpu-features); skipping them keeps compilers out of the image, and the
# libraries fall back to their pure JavaScript paths.
FROM ${NODE_IMAGE} AS production-dependencies
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# Type declarations and source maps are nearly half of node_modules, and nothing loads them.
RUN find node_modules -type f \( -name "*.d.ts" -o -name "*.d.cts" -o -name "*.d.mts" -o -name "*.map" \) -delete

# The application tree both images share: compiled code (dist/cli.js and dist/chunks/ are the
# program, bundled and minified by scripts/bundle.mjs: less source text resident on V8's heap),
# the CSI protocol (proto/csi.json, made from csi.proto by scripts/csi-descriptor.mjs) it loads at
# run time, and package.json, from which it reads its version. node_modules stays for what the
# bundle leaves out: the Kubernetes client, loaded only when the reconciler runs.
FROM scratch AS app
COPY --from=production-dependencies /app/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY proto/ /app/proto/
COPY package.json /app/package.json

# The controller runs no program but node (SSH is ssh2, Kubernetes is its client library): its
# root file system is the node binary and the shared libraries it links, nothing else.
FROM ${NODE_IMAGE} AS controller-rootfs
RUN mkdir -p /rootfs/usr/local/bin /rootfs/tmp \
  && cp /usr/local/bin/node /rootfs/usr/local/bin/node \
  && ldd /usr/local/bin/node | grep -o '/[^ ]*' | xargs cp --parents --dereference --target-directory=/rootfs \
  && chmod 1777 /rootfs/tmp

# The node service connects NVMe/TCP controllers, finds devices, makes filesystems, mounts and
# grows them, with the host tools for each step; the same tools run `rds-csi sim`. npm, corepack
# and yarn are removed, and the tree is flattened below so they leave no lower layer behind.
FROM ${NODE_IMAGE} AS node-rootfs
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    nvme-cli \
    e2fsprogs \
    xfsprogs \
    btrfs-progs \
    util-linux \
    mount \
    kmod \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules /usr/local/include /usr/local/share/doc /usr/local/share/man \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn \
    /usr/local/bin/yarnpkg /opt/yarn-*

# --max-semi-space-size=1 (MiB): V8's young generation grows to 16 MiB semi-spaces by default,
# which a control-plane process with small, short-lived requests never needs; capped, the idle
# resident size drops by about 12 MiB. Garbage is collected more often in small steps (no
# effect on results; a large listing's parse promotes to the old generation, which is still
# bounded by the container's limit). bench/ runs the driver with these same flags.
# 2 MiB was measured against 1: it halves the scavenges of a ListSnapshots walk (one per page of
# 100 at 1 MiB) and their time, but a process idles about 1.5 MiB larger until V8 collects its
# start-up garbage, which it may not do for minutes: a controller then sat at 63.7–64.1 MiB,
# over the 64 MiB idle target or too close to it. So 1 stays.
# The controller talks to the RDS over SSH and to its sidecars over a socket: no host access,
# no root. The numeric user lets Kubernetes verify runAsNonRoot.
FROM scratch AS controller
COPY --from=controller-rootfs /rootfs /
ENV PATH=/usr/local/bin NODE_ENV=production
COPY --from=app /app /app
WORKDIR /app
USER 1000:1000
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/cli.js"]
CMD ["controller"]

# The node service runs privileged, as root.
FROM scratch AS node
COPY --from=node-rootfs / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production
COPY --from=app /app /app
WORKDIR /app
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/cli.js"]
CMD ["node"]
