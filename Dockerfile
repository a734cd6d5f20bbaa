# syntax=docker/dockerfile:1
# Two images from one build, one per role:
#   docker build --target controller -t <registry>/rds-csi-controller:<version> .
#   docker build --target node       -t <registry>/rds-csi-node:<version> .
# scripts/build-images.sh builds (and optionally pushes) both.
ARG NODE_IMAGE=node:20-bookworm-slim

# Compile TypeScript with the full (dev) dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build

# Production dependencies only. Install scripts only build optional native speed-ups (ssh2's
# crypto binding, cpu-features); skipping them keeps compilers out of the image, and the
# libraries fall back to their pure JavaScript paths.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The application tree both images share: compiled code, the CSI proto it loads at run time,
# and package.json, from which it reads its version.
FROM scratch AS app
COPY --from=production-dependencies /app/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY proto/ /app/proto/
COPY package.json /app/package.json

# The controller talks to the RDS over SSH and to its sidecars over a socket: no host access,
# no root. The numeric user lets Kubernetes verify runAsNonRoot.
FROM ${NODE_IMAGE} AS controller
ENV NODE_ENV=production
COPY --from=app /app /app
WORKDIR /app
USER 1000:1000
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["controller"]

# The node service connects NVMe/TCP controllers, finds devices, makes filesystems, mounts and
# grows them: it runs privileged, as root, with the host tools for each step.
FROM ${NODE_IMAGE} AS node
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    nvme-cli \
    e2fsprogs \
    xfsprogs \
    btrfs-progs \
    util-linux \
    mount \
    kmod \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
COPY --from=app /app /app
WORKDIR /app
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["node"]
