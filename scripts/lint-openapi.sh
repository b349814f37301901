#!/usr/bin/env bash
# The committed OpenAPI documents against the project's own ruleset for DIGG's REST API
# profile (lint/digg.spectral.yaml): zero errors is the bar. Then the ruleset itself is
# tested: lint/fixtures/broken.yaml breaks every SKALL rule once, and the lint must fail
# on it naming each of them. Spectral is pinned by lint/package-lock.json and installed
# into var/tools/lint (npm ci, no install scripts); needs Node.js with npm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "lint-openapi: npm not found (install Node.js with npm: apt-get install -y nodejs npm)" >&2
  exit 1
fi
tools=var/tools/lint
if ! cmp -s lint/package-lock.json "$tools/package-lock.json" || [ ! -x "$tools/node_modules/.bin/spectral" ]; then
  rm -rf "$tools"
  mkdir -p "$tools"
  cp lint/package.json lint/package-lock.json "$tools/"
  npm ci --prefix "$tools" --ignore-scripts --no-audit --no-fund --silent >&2
fi
spectral=("$tools/node_modules/.bin/spectral" lint -r lint/digg.spectral.yaml)

"${spectral[@]}" --fail-severity error openapi/*.yaml

# The ruleset must catch what it claims to: every error rule fires on the fixture.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "${spectral[@]}" --fail-severity error -f text lint/fixtures/broken.yaml >"$out" 2>&1; then
  echo "lint-openapi: the ruleset passed lint/fixtures/broken.yaml, which breaks every SKALL rule" >&2
  exit 1
fi
missing=0
for rule in $(sed -n 's/^  \([a-z0-9-]*\):$/\1/p' lint/digg.spectral.yaml); do
  # Only the SKALL rules (severity error) have to fire on the fixture.
  severity=$(awk -v r="  $rule:" '$0 == r {f=1; next} f && /^    severity:/ {print $2; exit}' lint/digg.spectral.yaml)
  [ "$severity" = error ] || continue
  if ! grep -q " error  *$rule " "$out"; then
    echo "lint-openapi: rule $rule did not fire on lint/fixtures/broken.yaml" >&2
    missing=1
  fi
done
if [ "$missing" != 0 ]; then
  cat "$out" >&2
  exit 1
fi
echo "lint-openapi: openapi/*.yaml pass lint/digg.spectral.yaml; lint/fixtures/broken.yaml fails it on every SKALL rule"
