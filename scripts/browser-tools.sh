#!/usr/bin/env bash
# What the browser test of Mina sidor needs besides Debian's chromium and
# chromium-driver: axe-core from npm, installed into var/tools. Prints the path of
# axe.min.js for KOMVUX_AXE_JS.
set -euo pipefail
cd "$(dirname "$0")/.."
axe=var/tools/node_modules/axe-core/axe.min.js
if [ ! -f "$axe" ]; then
  npm install --silent --no-audit --no-fund --prefix var/tools axe-core@4.14.1 >&2
fi
echo "$PWD/$axe"
