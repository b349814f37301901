#!/usr/bin/env bash
# make bench-scale: every read of the gateway on an empty database and on a database at
# national scale, side by side in one run, same release binary, same machine. The
# national dataset is built once by `komvux-gateway dev-seed` and kept in var/bench
# (by size and backend); loopback only.
#   KOMVUX_SCALE_PERSONS   persons (default 1000000)
#   KOMVUX_SCALE_MESSAGES  messages (default 10000000)
#   KOMVUX_BENCH_SECONDS   per scenario and database (default 5)
#   KOMVUX_BENCH_CONNS     concurrent connections for throughput (default 8)
#   KOMVUX_BENCH_BACKENDS  which databases (default "sqlite postgres")
#   KOMVUX_BENCH_CHECK=1   fail on any error or non-2xx answer (the bounded run of CI)
#   KOMVUX_SCALE_BASLADDNING   persons in the basladdning measured (default 10000)
#   KOMVUX_SCALE_GALLRING_RATE lookups per second while gallring runs (default 200)
# Prints the table and writes var/bench/scale-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${KOMVUX_SCALE_PERSONS:-1000000}
messages=${KOMVUX_SCALE_MESSAGES:-10000000}
secs=${KOMVUX_BENCH_SECONDS:-5}
conns=${KOMVUX_BENCH_CONNS:-8}
command -v oha >/dev/null 2>&1 || cargo install oha --version 1.16.0 --locked
cargo build --release --locked -q -p komvux-gateway
bin=$PWD/target/release/komvux-gateway
out=$PWD/var/bench; mkdir -p "$out"
work=$(mktemp -d /tmp/komvux-scale.XXXXXX)
chmod 755 "$work"
pids=()
pgdirs=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "${pgdirs[@]}"; do scripts/throwaway-postgres.sh stop "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
C=$PWD/certs-dev
TLS=(--cacert "$C/ca.pem" --cert "$C/client-stockholm.pem" --key "$C/client-stockholm.key")
results="$out/scale-results.md"
printf '| read | backend | baseline (empty or small) p50 ms | %s/%s p50 ms | ratio | baseline req/s | at scale req/s |\n|---|---|---|---|---|---|---|\n' "$persons" "$messages" > "$results"

# oha's JSON summary -> "rps p50 bad"
summarise() {
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution", {})
errors = {k: v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k}
bad = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(errors.values())
print(f'{d["summary"]["requestsPerSec"]:.0f} {d["latencyPercentiles"]["p50"]*1000:.2f} {bad}')
PY
}
measure() {  # measure DB oha-args... -> sets RPS P50
  oha --no-tui --output-format json -z "${secs}s" -c "$conns" "$@" > "$work/oha.json" 2>/dev/null
  read -r RPS P50 bad < <(summarise "$work/oha.json")
  if [ "${KOMVUX_BENCH_CHECK:-}" = 1 ] && [ "$bad" != 0 ]; then
    echo "FAILED: $bad error answers from ${*: -1}" >&2; exit 1
  fi
}
row() {  # row NAME BACKEND empty-args -- scale-args
  local name=$1 backend=$2; shift 2
  local empty=() scale=()
  while [ "$1" != -- ]; do empty+=("$1"); shift; done; shift
  scale=("$@")
  measure "${empty[@]}"; local e_rps=$RPS e_p50=$P50
  measure "${scale[@]}"; local s_rps=$RPS s_p50=$P50
  local ratio; ratio=$(python3 -c "print(f'{max($s_p50, 0.01)/max($e_p50, 0.01):.2f}')")
  printf '%-34s %-9s p50 %7s ms -> %7s ms  (x%s)  %7s -> %7s req/s\n' "$name" "$backend" "$e_p50" "$s_p50" "$ratio" "$e_rps" "$s_rps"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$backend" "$e_p50" "$s_p50" "$ratio" "$e_rps" "$s_rps" >> "$results"
}
note() { echo "$1"; printf '| %s | %s | | | | | |\n' "$1" "$2" >> "$results"; }

# start_gateway NAME URL [PERSON_FILE] -> sets PORT OPS IPORT SECRET PNR GW (dev-setup's clients and
# persons; the dataset, when there is one, is already in the database)
start_gateway() {
  # One folder per backend and gateway: dev-setup keeps a secret file it finds for a
  # client the database already has, so a folder of the other backend would hold a
  # secret this database does not know.
  local name=$1 url=$2 dir=$work/$backend-$1
  mkdir -p "$dir"
  PORT=$(free_port); OPS=$(free_port); IPORT=$(free_port)
  cat > "$dir/gateway.toml" <<TOML
mode = "test"
database_url = "$url"
listen = "127.0.0.1:$PORT"
ops_listen = "127.0.0.1:$OPS"
log_format = "json"
[pool]
max_size = 16
[tls]
server_cert = "$C/server.pem"
server_key = "$C/server.key"
client_ca = "$C/ca.pem"
[intern]
listen = "127.0.0.1:$IPORT"
issuer = "https://inloggning.test.arbetsformedlingen.invalid"
audience = "komvux-gateway"
roles_claim = "roles"
required_role = "handlaggare"
keys = ["$C/jwt-dev.pub.pem"]
dev_signing_key = "$C/jwt-dev.key"
TOML
  if ! (cd "$dir" && "$bin" --config gateway.toml dev-setup --secrets secrets > seed.txt 2>setup.log); then
    echo "dev-setup failed on $name:" >&2; tail -20 "$dir/setup.log" >&2; exit 1
  fi
  local started; started=$(date +%s.%N)
  RUST_LOG=warn "$bin" --config "$dir/gateway.toml" serve 2>"$dir/server.log" &
  GW=$!; pids+=("$GW")
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$OPS/health/ready" >/dev/null && break; sleep 0.1; done
  STARTUP=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
  SECRET=$(cat "$dir/secrets/dev-stockholm.secret")
  # dev-setup names its anvisad test person only when it creates it: a kept PostgreSQL
  # dataset had it on an earlier run, so the name is kept beside the data.
  PNR=$(grep -m1 -oE '[0-9]{12}  anvisad' "$dir/seed.txt" | cut -c1-12 || true)
  if [ -n "${3:-}" ]; then
    if [ -n "$PNR" ]; then echo "$PNR" > "$3"; else PNR=$(cat "$3"); fi
  fi
  TOKEN=$(cd "$dir" && "$bin" --config gateway.toml dev-token --sub bench 2>/dev/null)
  CONF=$dir/gateway.toml
}

# The dataset: one SQLite file or one PostgreSQL data folder per size, built once.
seeded_sqlite() {
  local db=$out/scale-$persons-$messages.sqlite
  if [ ! -f "$db.done" ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    cat > "$work/seed.toml" <<TOML
mode = "test"
database_url = "sqlite://$db"
[tls]
server_cert = "$C/server.pem"
server_key = "$C/server.key"
client_ca = "$C/ca.pem"
TOML
    local t0; t0=$(date +%s)
    "$bin" --config "$work/seed.toml" dev-seed --personer "$persons" --meddelanden "$messages" >&2
    echo "$(( $(date +%s) - t0 ))" > "$db.done"
  fi
  echo "$db"
}

for backend in ${KOMVUX_BENCH_BACKENDS:-sqlite postgres}; do
  if [ "$backend" = sqlite ]; then
    empty_url="sqlite://$work/empty.sqlite"
    db=$(seeded_sqlite)
    for f in "$db" "$db-wal"; do [ -f "$f" ] && cp "$f" "$work/scale.sqlite${f#"$db"}"; done
    scale_url="sqlite://$work/scale.sqlite"
    seed_secs=$(cat "$db.done")
    size=$(du -m "$db" | cut -f1)
  else
    pgdirs+=("$work/pg-empty")
    empty_url=$(scripts/throwaway-postgres.sh start "$work/pg-empty" "$(free_port)")
    pgdir=$out/pg-scale-$persons-$messages
    pgdirs+=("$pgdir")
    scale_url=$(scripts/throwaway-postgres.sh start "$pgdir" "$(free_port)")
    if [ ! -f "$pgdir/seeded" ]; then
      cat > "$work/seed.toml" <<TOML
mode = "test"
database_url = "$scale_url"
[tls]
server_cert = "$C/server.pem"
server_key = "$C/server.key"
client_ca = "$C/ca.pem"
TOML
      t0=$(date +%s)
      "$bin" --config "$work/seed.toml" dev-seed --personer "$persons" --meddelanden "$messages"
      echo "$(( $(date +%s) - t0 ))" > "$pgdir/seeded"
    fi
    seed_secs=$(cat "$pgdir/seeded")
    size=$(du -sm "$pgdir/data" | cut -f1)
    # Every run works on a copy of the kept database, as SQLite's does on a copy of its
    # file: the basladdning, the audit rows of each read and the gallring would grow or
    # shrink the kept one from run to run.
    psql -q "$scale_url" -c "DROP DATABASE IF EXISTS komvux_run" -c "CREATE DATABASE komvux_run TEMPLATE komvux"
    kept_url=$scale_url
    scale_url=${scale_url%/*}/komvux_run
  fi
  note "dataset built by dev-seed in ${seed_secs} s; database ${size} MB ($(python3 -c "print(round($size / ($messages / 1e6)))") MB per million messages)" "$backend"

  start_gateway empty "$empty_url"; e_port=$PORT; e_iport=$IPORT; e_secret=$SECRET; e_pnr=$PNR; e_token=$TOKEN
  e_startup=$STARTUP
  keep=""; [ "$backend" = postgres ] && keep="$pgdir/dev-setup-person"
  start_gateway scale "$scale_url" "$keep"; s_port=$PORT; s_iport=$IPORT; s_secret=$SECRET; s_pnr=$PNR; s_token=$TOKEN; s_conf=$CONF
  note "startup to ready: ${e_startup} s empty, ${STARTUP} s at scale" "$backend"

  # A small database beside them (Stockholm's pages full): the empty database's pages
  # hold the few entries dev-setup makes, so the rows per page of 100 also compare
  # with this one, the same work at two sizes.
  small_p=$(( persons < 5000 ? persons : 5000 )); small_m=$(( messages < 50000 ? messages : 50000 ))
  if [ "$backend" = sqlite ]; then
    small_url="sqlite://$work/small.sqlite"
  else
    psql -q "$empty_url" -c "CREATE DATABASE komvux_small"
    small_url=${empty_url%/*}/komvux_small
  fi
  cat > "$work/seed-small.toml" <<TOML
mode = "test"
database_url = "$small_url"
[tls]
server_cert = "$C/server.pem"
server_key = "$C/server.key"
client_ca = "$C/ca.pem"
TOML
  "$bin" --config "$work/seed-small.toml" dev-seed --personer "$small_p" --meddelanden "$small_m" > /dev/null
  start_gateway small "$small_url"; m_port=$PORT; m_iport=$IPORT; m_secret=$SECRET; m_token=$TOKEN
  he=(-H "client_id: dev-stockholm" -H "client_secret: $e_secret" -H "content-type: application/json")
  hs=(-H "client_id: dev-stockholm" -H "client_secret: $s_secret" -H "content-type: application/json")
  eb="https://localhost:$e_port/komvux/v1"; sb="https://localhost:$s_port/komvux/v1"

  row "audited lookup (sok)" "$backend" -m POST "${he[@]}" -d "{\"personnummer\": \"$e_pnr\"}" "${TLS[@]}" "$eb/utbildningsbehov/sok" \
    -- -m POST "${hs[@]}" -d "{\"personnummer\": \"$s_pnr\"}" "${TLS[@]}" "$sb/utbildningsbehov/sok"
  row "decision feed, first page of 100" "$backend" "${he[@]}" "${TLS[@]}" "$eb/utbildningsbeslut?kommunkod=0180&limit=100" \
    -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbeslut?kommunkod=0180&limit=100"

  # Stockholm's whole decision feed from the beginning, 100 at a time, one client on
  # one keep-alive connection; remembers the cursor after page 200.
  read -r pages took deep < <(python3 - "$s_port" "$s_secret" "$C" <<'PY'
import http.client, json, ssl, sys, time
port, secret, certs = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
ctx.load_cert_chain(f"{certs}/client-stockholm.pem", f"{certs}/client-stockholm.key")
conn = http.client.HTTPSConnection("localhost", int(port), context=ctx)
headers = {"client_id": "dev-stockholm", "client_secret": secret}
pages, efter, deep = 0, "", "-"
started = time.time()
while True:
    conn.request("GET", "/komvux/v1/utbildningsbeslut?kommunkod=0180&limit=100" + (f"&efter={efter}" if efter else ""), headers=headers)
    d = json.loads(conn.getresponse().read())
    if not d["data"]:
        break
    pages += 1
    efter = d["efter"]
    if pages == 200:
        deep = efter
print(pages, f"{time.time() - started:.2f}", deep)
PY
)
  note "Stockholm's decision feed caught up from the start: $pages pages of 100 in $took s ($(python3 -c "print(round($pages / max($took, 0.001)))") pages/s, one client)" "$backend"
  if [ "$deep" != - ]; then
    row "decision feed, page 200 of the history" "$backend" "${he[@]}" "${TLS[@]}" "$eb/utbildningsbeslut?kommunkod=0180&limit=100" \
      -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbeslut?kommunkod=0180&limit=100&efter=$deep"
  fi
  total=$(curl -sf "${TLS[@]}" "${hs[@]}" "$sb/utbildningsbehov?hemkommun=0180&limit=100" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
  last=$(( (total + 99) / 100 )); [ "$last" -lt 1 ] && last=1
  row "Tabell 2, first page of 100" "$backend" "${he[@]}" "${TLS[@]}" "$eb/utbildningsbehov?hemkommun=0180&limit=100" \
    -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbehov?hemkommun=0180&limit=100"
  row "Tabell 2, last page ($last of 100, $total active)" "$backend" "${he[@]}" "${TLS[@]}" "$eb/utbildningsbehov?hemkommun=0180&limit=100" \
    -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbehov?hemkommun=0180&limit=100&page=$last"
  row "internal handelser, first page of 100" "$backend" -H "authorization: Bearer $e_token" "${TLS[@]}" "https://localhost:$e_iport/intern/v1/handelser?limit=100" \
    -- -H "authorization: Bearer $s_token" "${TLS[@]}" "https://localhost:$s_iport/intern/v1/handelser?limit=100"
  hm=(-H "client_id: dev-stockholm" -H "client_secret: $m_secret")
  mb="https://localhost:$m_port/komvux/v1"
  entries() { curl -sf "${TLS[@]}" "$@" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['data']))"; }
  note "small database: $small_p persons, $small_m messages; a first page holds $(entries "${hm[@]}" "$mb/utbildningsbeslut?kommunkod=0180&limit=100") decisions there, $(entries "${he[@]}" "$eb/utbildningsbeslut?kommunkod=0180&limit=100") on the empty one, $(entries "${hs[@]}" "$sb/utbildningsbeslut?kommunkod=0180&limit=100") at scale" "$backend"
  row "decision feed, first page of 100, small database against scale" "$backend" "${hm[@]}" "${TLS[@]}" "$mb/utbildningsbeslut?kommunkod=0180&limit=100" \
    -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbeslut?kommunkod=0180&limit=100"
  row "Tabell 2, first page of 100, small database against scale" "$backend" "${hm[@]}" "${TLS[@]}" "$mb/utbildningsbehov?hemkommun=0180&limit=100" \
    -- "${hs[@]}" "${TLS[@]}" "$sb/utbildningsbehov?hemkommun=0180&limit=100"
  row "internal handelser, first page of 100, small database against scale" "$backend" -H "authorization: Bearer $m_token" "${TLS[@]}" "https://localhost:$m_iport/intern/v1/handelser?limit=100" \
    -- -H "authorization: Bearer $s_token" "${TLS[@]}" "https://localhost:$s_iport/intern/v1/handelser?limit=100"
  body() { echo "{\"kommunkod\": \"0180\", \"personnummer\": \"$1\", \"transaktionsdatum\": \"2026-03-02T10:00:00Z\", \"kallsystem\": \"bench\", \"status\": \"registrering\", \"ansokningsdatum\": \"2026-03-01\", \"kurser\": [{\"kurskod\": \"MATMAT01a\", \"kursnamn\": \"Matematik 1a\", \"skolform\": \"gymnasial\", \"poang\": 100, \"studietakt\": 50, \"startdatum\": \"2026-08-17\", \"slutdatum\": \"2026-12-18\"}]}"; }
  row "submission (ansokan)" "$backend" -m POST "${he[@]}" -d "$(body "$e_pnr")" "${TLS[@]}" "$eb/ansokningar" \
    -- -m POST "${hs[@]}" -d "$(body "$s_pnr")" "${TLS[@]}" "$sb/ansokningar"

  # A basladdning of N persons (each given an anvisning first, not timed), on both.
  n=${KOMVUX_SCALE_BASLADDNING:-10000}
  read -r e_took e_status < <(python3 scripts/bench_scale_load.py basladdning "$e_port" "$e_iport" "$e_secret" "$e_token" "$C" "$n" crates/domain/data/testpersonnummer.txt)
  read -r s_took s_status < <(python3 scripts/bench_scale_load.py basladdning "$s_port" "$s_iport" "$s_secret" "$s_token" "$C" "$n" crates/domain/data/testpersonnummer.txt)
  note "basladdning of $n persons: $e_took s empty ($e_status), $s_took s at scale ($s_status)" "$backend"
  if [ "${KOMVUX_BENCH_CHECK:-}" = 1 ] && { [ "$e_status" != 201 ] || [ "$s_status" != 201 ]; }; then
    echo "FAILED: basladdning answered $e_status / $s_status" >&2; exit 1
  fi
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()

  # Gallring while lookups run: the seeded copy's gateway serves audited lookups at a
  # fixed rate, first alone, then while `gallra` deletes (for real, in this run's copy of
  # the dataset).
  rate=${KOMVUX_SCALE_GALLRING_RATE:-200}
  start_gateway gallring "$scale_url" "$keep"; g_conf=$CONF; g_pnr=${PNR:-$s_pnr}
  { read -r b50 b99 bmax bn bbad _; read -r _; } < <(python3 scripts/bench_scale_load.py during "$PORT" "$SECRET" "$g_pnr" "$C" "$rate" -- sleep "$secs")
  t0=$(date +%s.%N)
  { read -r g50 g99 gmax gn gbad grc; read -r gallring; } < <(python3 scripts/bench_scale_load.py during "$PORT" "$SECRET" "$g_pnr" "$C" "$rate" -- "$bin" --config "$g_conf" gallra)
  took=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  note "lookups at $rate/s alone: p50 $b50 ms, p99 $b99 ms, max $bmax ms ($bn)" "$backend"
  note "gallring (3 years' retention) while lookups ran: $gallring in $took s (exit $grc); lookups at $rate/s: p50 $g50 ms, p99 $g99 ms, max $gmax ms ($gn, $gbad not 200)" "$backend"
  if [ "${KOMVUX_BENCH_CHECK:-}" = 1 ] && { [ "$grc" != 0 ] || [ "$gbad" != 0 ] || [ "$bbad" != 0 ]; }; then
    echo "FAILED: gallring exit $grc, $gbad / $bbad lookups not 200" >&2; exit 1
  fi
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()

  t0=$(date +%s.%N)
  rows=$("$bin" --config "$s_conf" audit verify 2>/dev/null | grep -oE '[0-9]+ rows' | cut -d' ' -f1)
  took=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  note "audit verify: $rows rows in $took s ($(python3 -c "print(round(${rows:-0} / max($took, 0.001)))") rows/s)" "$backend"
  rm -f "$work/scale.sqlite"* "$work/small.sqlite"*
  if [ "$backend" = postgres ]; then psql -q "$kept_url" -c "DROP DATABASE komvux_run"; fi
done
echo "results: $results"
