#!/usr/bin/env bash
# make bench: the release binary over real mutual TLS against nginx's static mTLS
# ceiling on the same machine, in the same run. Loopback only, bounded in time.
#   KOMVUX_BENCH_SECONDS  per scenario (default 8)
#   KOMVUX_BENCH_CONNS    concurrent connections (default 32)
#   KOMVUX_BENCH_BACKENDS which databases (default "sqlite postgres")
#   KOMVUX_BENCH_CHECK=1   fail on any error or non-2xx answer (the bounded run of CI)
#   KOMVUX_BENCH_BIN      a gateway binary to measure instead of building this tree's
#                         (to compare two builds in alternating runs; a build older than
#                         receipts refuses the [receipts] section: use its own bench.sh)
#   KOMVUX_BENCH_SCENARIOS which scenarios (default "0 1 5 2 3 7 4"; 3 also checks nothing
#                         was lost; 7 reads a receipt's evidence (its inclusion proof);
#                         5 is scenario 1 held at half its target rate, for p99;
#                         0 is the gateway's own ceiling: GET /api-info over the same mTLS,
#                         no client credentials and no database, run with the first backend;
#                         6, not in the default, alternates nginx and scenario 1 for
#                         KOMVUX_BENCH_ROUNDS rounds (default 6) and prints each round's
#                         ratio and their mean: on a noisy machine a single run's ratio
#                         mostly measures how nginx's run went)
# Prints one line per scenario and writes var/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${KOMVUX_BENCH_SECONDS:-8}
conns=${KOMVUX_BENCH_CONNS:-32}
command -v oha >/dev/null 2>&1 || cargo install oha --version 1.16.0 --locked
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt-get install -y -qq nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -n "${KOMVUX_BENCH_BIN:-}" ]; then
  bin=$(realpath "$KOMVUX_BENCH_BIN")
else
  cargo build --release --locked -q -p komvux-gateway
  bin=$PWD/target/release/komvux-gateway
fi
out=var/bench; mkdir -p "$out"
work=$(mktemp -d /tmp/komvux-bench.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as its own user and must reach its data folder
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  scripts/throwaway-postgres.sh stop "$work/pg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
C=$PWD/certs-dev
TLS=(--cacert "$C/ca.pem" --cert "$C/client-stockholm.pem" --key "$C/client-stockholm.key")
results="$out/results.md"
printf '| scenario | backend | requests/s | p50 ms | p99 ms | p99.9 ms | non-2xx | ratio to nginx |\n|---|---|---|---|---|---|---|---|\n' > "$results"

# oha's JSON summary -> "rps p50 p99 p999 non2xx"
summarise() {
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]; p = d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
# Requests still in flight when the time is up are cut off by oha, not refused by the server.
errors = {k: v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k}
bad = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(errors.values())
print(f'{s["requestsPerSec"]:.0f} {p["p50"]*1000:.2f} {p["p99"]*1000:.2f} {p["p99.9"]*1000:.2f} {bad}')
PY
}
run() {  # run NAME BACKEND REF_RPS oha-args...
  local name=$1 backend=$2 ref=$3; shift 3
  oha --no-tui --output-format json -z "${secs}s" -c "$conns" "$@" > "$work/oha.json" 2>/dev/null
  read -r rps p50 p99 p999 bad < <(summarise "$work/oha.json")
  local ratio="-"
  [ "$ref" != "-" ] && ratio=$(python3 -c "print(f'{$rps/$ref:.2f}')")
  printf '%-28s %-10s %8s req/s  p50 %6s ms  p99 %7s ms  p99.9 %7s ms  non-2xx %s  ratio %s\n' "$name" "$backend" "$rps" "$p50" "$p99" "$p999" "$bad" "$ratio"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$backend" "$rps" "$p50" "$p99" "$p999" "$bad" "$ratio" >> "$results"
  LAST_RPS=$rps
  if [ "${KOMVUX_BENCH_CHECK:-}" = 1 ] && [ "$bad" != 0 ]; then
    echo "FAILED: $name on $backend answered $bad requests with an error" >&2; exit 1
  fi
}

# nginx: static JSON over the same mTLS setup.
nport=$(free_port)
cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nport ssl http2;
    ssl_certificate $C/server.pem;
    ssl_certificate_key $C/server.key;
    ssl_client_certificate $C/ca.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { default_type application/json; return 200 '{"utbildningsbehov":[]}'; }
  }
}
NGINX
"$NGINX" -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"
sleep 0.5
run "nginx static, keep-alive" nginx - "${TLS[@]}" "https://localhost:$nport/"
ref_keepalive=$LAST_RPS
run "nginx static, new TLS each" nginx - --disable-keepalive "${TLS[@]}" "https://localhost:$nport/"
ref_handshake=$LAST_RPS

for backend in ${KOMVUX_BENCH_BACKENDS:-sqlite postgres}; do
  port=$(free_port); ops=$(free_port)
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/komvux.sqlite"
  else
    url=$(scripts/throwaway-postgres.sh start "$work/pg" "$(free_port)")
  fi
  cat > "$work/gateway.toml" <<TOML
mode = "test"
database_url = "$url"
listen = "127.0.0.1:$port"
ops_listen = "127.0.0.1:$ops"
log_format = "json"
[pool]
max_size = 32
[tls]
server_cert = "$C/server.pem"
server_key = "$C/server.key"
client_ca = "$C/ca.pem"
[receipts]
checkpoint_interval_secs = 1
TOML
  (cd "$work" && "$bin" --config gateway.toml dev-setup --secrets secrets > "$work/seed.txt" 2>/dev/null)
  RUST_LOG=warn "$bin" --config "$work/gateway.toml" serve 2>"$work/server-$backend.log" &
  gw=$!; pids+=("$gw")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ops/health/ready" >/dev/null && break; sleep 0.1; done
  H=(-H "client_id: dev-stockholm" -H "client_secret: $(cat "$work/secrets/dev-stockholm.secret")" -H "content-type: application/json")
  base="https://localhost:$port/komvux/v1"
  # a seeded person with an anvisning in 0180 (the first line of the seed list)
  pnr=$(grep -m1 -oE '[0-9]{12}  anvisad' "$work/seed.txt" | cut -c1-12)
  LOOKUP=(-m POST "${H[@]}" -d "{\"personnummer\": \"$pnr\"}" "${TLS[@]}" "$base/utbildningsbehov/sok")
  want() { [[ " ${KOMVUX_BENCH_SCENARIOS:-0 1 5 2 3 7 4} " == *" $1 "* ]]; }
  body="{\"kommunkod\": \"0180\", \"personnummer\": \"$pnr\", \"transaktionsdatum\": \"2026-03-02T10:00:00Z\", \"kallsystem\": \"bench\", \"status\": \"registrering\", \"ansokningsdatum\": \"2026-03-01\", \"kurser\": [{\"kurskod\": \"MATMAT01a\", \"kursnamn\": \"Matematik 1a\", \"skolform\": \"gymnasial\", \"poang\": 100, \"studietakt\": 50, \"startdatum\": \"2026-08-17\", \"slutdatum\": \"2026-12-18\"}]}"
  if want 0 && [ -z "${ceiling_done:-}" ]; then
    run "0 api-info, no database" "-" "$ref_keepalive" "${TLS[@]}" "$base/api-info"
    ceiling_done=1
  fi
  want 1 && run "1 lookup, keep-alive" "$backend" "$ref_keepalive" "${LOOKUP[@]}"
  if want 5; then
    # half the target load: 0.25x nginx on SQLite (target 0.5x), 0.125x on PostgreSQL (0.25x)
    share=0.25; [ "$backend" = postgres ] && share=0.125
    rate=$(python3 -c "print(int($ref_keepalive * $share))")
    run "1 at half the target ($rate/s)" "$backend" - -q "$rate" "${LOOKUP[@]}"
  fi
  if want 6; then
    ratios=()
    for _ in $(seq 1 "${KOMVUX_BENCH_ROUNDS:-6}"); do
      run "6 nginx (round)" nginx - "${TLS[@]}" "https://localhost:$nport/" > /dev/null
      ng=$LAST_RPS
      run "6 lookup (round)" "$backend" "$ng" "${LOOKUP[@]}" > /dev/null
      ratios+=("$(python3 -c "print(f'{$LAST_RPS/$ng:.3f}')")")
    done
    mean=$(python3 -c "import sys; r=[float(x) for x in sys.argv[1:]]; print(f'{sum(r)/len(r):.2f}')" "${ratios[@]}")
    echo "6 lookup against nginx, ${#ratios[@]} alternating rounds on $backend: ratios ${ratios[*]}, mean $mean"
    printf '| 6 lookup against nginx, alternating rounds (%s) | %s | | | | | | %s |\n' "${ratios[*]}" "$backend" "$mean" >> "$results"
  fi
  want 2 && run "2 lookup, new TLS each" "$backend" "$ref_handshake" --disable-keepalive "${LOOKUP[@]}"
  if want 3; then
    run "3 submissions" "$backend" - -m POST "${H[@]}" -d "$body" "${TLS[@]}" "$base/ansokningar"
    created=$(python3 -c "import json; print(json.load(open('$work/oha.json')).get('statusCodeDistribution', {}).get('201', 0))")
    cut=$(python3 -c "import json; print(sum(v for k, v in json.load(open('$work/oha.json')).get('errorDistribution', {}).items() if 'deadline' in k))")
    stored=$(cd "$work" && echo "$pnr" > p.txt && "$bin" --config gateway.toml person export --person-file p.txt 2>/dev/null \
      | python3 -c "import json,sys; print(sum(1 for m in json.load(sys.stdin)['meddelanden'] if m['kallsystem'] == 'bench'))")
    echo "   submissions: $created answered 201, $stored stored, $cut cut off by the load generator at the deadline"
    # Nothing lost: every 201 is stored; at most the cut-off requests are stored without their answer.
    if [ "$stored" -lt "$created" ] || [ "$stored" -gt $((created + cut)) ]; then
      echo "MISMATCH: $created 201s, $cut cut off, but $stored rows" >&2; exit 1
    fi
  fi
  if want 7; then
    # A receipt's evidence (the receipt, its RFC 9162 inclusion proof, the checkpoint),
    # read from the stored subtrees: two queries whatever the tree's size. The message
    # is one more submission, after scenario 3's when it ran; the checkpoint of every
    # second covers it.
    id=$(curl -sf -X POST "${H[@]}" -d "$body" "${TLS[@]}" "$base/ansokningar" | python3 -c "import json,sys; print(json.load(sys.stdin)['meddelande_id'])")
    sleep 2
    leaves=$(curl -sf "${TLS[@]}" "$base/kontrollpunkter/senaste" | python3 -c "import json,sys; print(json.load(sys.stdin)['tree_size'])")
    run "7 receipt evidence ($leaves leaves)" "$backend" - "${H[@]}" "${TLS[@]}" "$base/meddelanden/$id/kvittens"
  fi
  want 4 && run "4 decision feed pages" "$backend" - "${H[@]}" "${TLS[@]}" "$base/utbildningsbeslut?kommunkod=0180&limit=100"
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
  echo "   peak RSS of the gateway: $((rss / 1024)) MiB"
  printf '| peak RSS | %s | %s MiB | | | | | |\n' "$backend" "$((rss / 1024))" >> "$results"
  kill "$gw"; wait "$gw" 2>/dev/null || true
done
echo "results: $results"
