#!/usr/bin/env bash
# schemathesis against the served test-environment OpenAPI document of the real binary,
# over mutual TLS with a dev client: no 5xx, no response that violates the schema.
#   KOMVUX_FUZZ_EXAMPLES  test cases per operation (default 25; make test uses 10)
#   KOMVUX_FUZZ_SEED      seed for a reproducible run (default 1)
# Loopback only; the server and its database are thrown away afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${KOMVUX_FUZZ_EXAMPLES:-25}
seed=${KOMVUX_FUZZ_SEED:-1}
version=4.32.5
venv=var/tools/schemathesis-$version
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
# shellcheck source=scripts/serve-throwaway.sh
source scripts/serve-throwaway.sh
"$venv/bin/schemathesis" run "$PWD/openapi/komvux-v1-testmiljo.yaml" \
  --url "https://localhost:$port" \
  --tls-verify certs-dev/ca.pem \
  --request-cert certs-dev/client-stockholm.pem --request-cert-key certs-dev/client-stockholm.key \
  -H "client_id: dev-stockholm" -H "client_secret: $secret" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,fuzzing,stateful \
  --max-examples "$examples" --seed "$seed" --workers 2 --no-color
# Our own code must log no error (actix logs unparseable requests at ERROR; those are the client's).
if grep '"level":"ERROR"' "$work/server.log" | grep -q '"target":"komvux'; then
  echo "the gateway logged errors:" >&2
  grep '"level":"ERROR"' "$work/server.log" | grep '"target":"komvux' | head -20 >&2
  exit 1
fi
