#!/usr/bin/env bash
# cargo fuzz over every parser of untrusted input, each for a bounded time.
#   KOMVUX_FUZZ_SECONDS  per target (default 60)
# Seeds are in fuzz/corpus/<target> (committed); what the fuzzer finds goes to
# var/fuzz-corpus/<target>, crashes to fuzz/artifacts (neither is committed).
# The project's toolchain is stable: RUSTC_BOOTSTRAP lets cargo fuzz use the
# sanitizer flags it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${KOMVUX_FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked
export RUSTC_BOOTSTRAP=1
cd fuzz
for target in personnummer organisationsnummer messages certificate_subject cursor jwt; do
  mkdir -p "../var/fuzz-corpus/$target"
  echo "== $target (${seconds}s)"
  cargo fuzz run -O "$target" "../var/fuzz-corpus/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E "^Done|stat::number_of_executed_units|SUMMARY|panicked" || true
  if ls artifacts/"$target"/crash-* >/dev/null 2>&1; then
    echo "crash found in $target: fuzz/artifacts/$target" >&2
    exit 1
  fi
done
