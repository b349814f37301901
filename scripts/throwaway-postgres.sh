#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for tests, prints the URL on stdout.
#   scripts/throwaway-postgres.sh start DIR PORT   -> prints postgres://...; server runs until stop
#   scripts/throwaway-postgres.sh stop DIR
# PostgreSQL refuses to run as root, so as root the server runs as user postgres.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ]; then
  echo "PostgreSQL server binaries not found; install the Debian package 'postgresql'" >&2
  exit 1
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:-55432}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
    fi
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -l "$dir/pg.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
    as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA \
      -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='komvux') THEN CREATE ROLE komvux LOGIN CREATEDB PASSWORD 'komvux'; END IF; END\$\$;" >/dev/null
    as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA \
      -c "SELECT 1 FROM pg_database WHERE datname='komvux'" | grep -q 1 ||
      as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA -c "CREATE DATABASE komvux OWNER komvux" >/dev/null
    echo "postgres://komvux:komvux@127.0.0.1:$port/komvux"
    ;;
  stop)
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
