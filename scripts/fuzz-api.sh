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
venv=var/tools/schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4.32,<5"
fi
cargo build --locked -q -p komvux-gateway
bin=$PWD/target/debug/komvux-gateway
work=$(mktemp -d /tmp/komvux-fuzz.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); ops=$(free_port)
cat > "$work/gateway.toml" <<TOML
mode = "test"
database_url = "sqlite://$work/komvux.sqlite"
listen = "127.0.0.1:$port"
ops_listen = "127.0.0.1:$ops"
log_format = "json"
[tls]
server_cert = "$PWD/certs-dev/server.pem"
server_key = "$PWD/certs-dev/server.key"
client_ca = "$PWD/certs-dev/ca.pem"
TOML
(cd "$work" && "$bin" --config gateway.toml dev-setup --secrets secrets >/dev/null 2>&1)
"$bin" --config "$work/gateway.toml" serve 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ops/health/ready" >/dev/null && break
  sleep 0.1
done
secret=$(cat "$work/secrets/dev-stockholm.secret")
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
