# Sourced by scripts that need a running gateway: starts the debug binary in test mode
# on free loopback ports with its own SQLite database and the dev certificates.
# Sets: work, port, ops, server (pid), secret (dev-stockholm's). Cleans up on exit.
cargo build --locked -q -p komvux-gateway
bin=$PWD/target/debug/komvux-gateway
work=$(mktemp -d /tmp/komvux-serve.XXXXXX)
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
