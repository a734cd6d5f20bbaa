#!/usr/bin/env bash
# Debian's Chromium, driven headless by playwright-core in test/lineage/page.test.ts (the lineage
# page checked in a real browser). playwright-core never downloads a browser of its own here.
set -euo pipefail
if ! dpkg -s chromium >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium
fi
