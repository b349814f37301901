#!/usr/bin/env bash
# schemathesis against the served test-environment OpenAPI document of the real binary,
# over mutual TLS with a dev client: no 5xx, no response that violates the schema.
#   KOMVUX_FUZZ_EXAMPLES  test cases per operation (default 25; make test uses 10)
#   KOMVUX_FUZZ_SEED      seed for a reproducible run (default 1)
# Loopback only; the server and its database are thrown away afterwards. Hypothesis's
# filter_too_much health check is off: the schemas are as strict as the API (dates by
# pattern and format, free texts by pattern and length), so drawing valid bodies filters
# many candidates by design; it failed one CI run on BetygRequest, not a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${KOMVUX_FUZZ_EXAMPLES:-25}
seed=${KOMVUX_FUZZ_SEED:-1}
version=4.32.5
# CPython 3.11's parser can fail with "AST constructor recursion depth mismatch" when
# hypothesis parses a lambda's source deep in schemathesis' stack (a CI run failed so,
# flakily); a newer Python, where one is installed, does not have that bug.
python=python3
pyenv_pythons=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2> /dev/null | sort -r || true)
for candidate in python3.13 python3.12 $pyenv_pythons; do
  if "$candidate" -c 'import venv' > /dev/null 2>&1; then
    python=$candidate
    break
  fi
done
venv=var/tools/schemathesis-$version-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ ! -x "$venv/bin/schemathesis" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
# shellcheck source=scripts/serve-throwaway.sh
source scripts/serve-throwaway.sh
# Test persons with an utbildningsbehov and an utbildningsbeslut in Stockholm, and one
# stored ansökan, for the hooks (scripts/schemathesis_hooks.py).
api() {
  curl -sS --fail-with-body --cacert certs-dev/ca.pem \
    --cert certs-dev/client-stockholm.pem --key certs-dev/client-stockholm.key \
    -H "client_id: dev-stockholm" -H "client_secret: $secret" \
    -H "Content-Type: application/json" "$@"
}
base="https://localhost:$port/komvux/v1"
# The documented examples' person first, then twenty more from Skatteverket's list.
persons=201212121212,$(awk '/^199/ { print; if (++n == 20) exit }' crates/domain/data/testpersonnummer.txt | paste -sd, -)
for p in ${persons//,/ }; do
  api -o /dev/null -X POST "$base/testdata/utbildningsbehov" -d "{\"personnummer\": \"$p\", \"hemkommun\": \"0180\",
    \"anvisningsdatum\": \"2026-01-15\", \"skolformer\": [\"grundlaggande\", \"gymnasial\", \"sfi\", \"anpassad_grundlaggande\", \"anpassad_gymnasial\"], \"giltig_tom\": \"2099-12-31\"}"
  api -o /dev/null -X POST "$base/testdata/utbildningsbeslut" -d "{\"personnummer\": \"$p\", \"kommunkod\": \"0180\",
    \"beslutsdatum\": \"2026-01-20\", \"fom\": \"2026-01-20\", \"tom\": \"2099-12-31\", \"studietakt\": 100}"
done
first=${persons%%,*}
meddelande_id=$(api -X POST "$base/ansokningar" -d "{\"kommunkod\": \"0180\", \"personnummer\": \"$first\",
  \"transaktionsdatum\": \"2026-02-01T10:00:00Z\", \"kallsystem\": \"fuzz-api\", \"status\": \"registrering\",
  \"ansokningsdatum\": \"2026-02-01\", \"kurser\": [{\"kurskod\": \"MATMAT01a\", \"kursnamn\": \"Matematik 1a\",
  \"skolform\": \"gymnasial\", \"poang\": 100, \"studietakt\": 50, \"startdatum\": \"2026-08-17\", \"slutdatum\": \"2026-12-18\"}]}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["meddelande_id"])')
export KOMVUX_FUZZ_PERSONS=$persons KOMVUX_FUZZ_MEDDELANDE_ID=$meddelande_id
export SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=$PWD/scripts
"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$PWD/openapi/komvux-v1-testmiljo.yaml" \
  --url "https://localhost:$port" \
  --tls-verify certs-dev/ca.pem \
  --request-cert certs-dev/client-stockholm.pem --request-cert-key certs-dev/client-stockholm.key \
  -H "client_id: dev-stockholm" -H "client_secret: $secret" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
  --phases examples,coverage,fuzzing,stateful \
  --exclude-path /komvux/v1/testdata/aterstall \
  --suppress-health-check=filter_too_much \
  --max-examples "$examples" --seed "$seed" --workers 2 --no-color
# Our own code must log no error (actix logs unparseable requests at ERROR; those are the client's).
if grep '"level":"ERROR"' "$work/server.log" | grep -q '"target":"komvux'; then
  echo "the gateway logged errors:" >&2
  grep '"level":"ERROR"' "$work/server.log" | grep '"target":"komvux' | head -20 >&2
  exit 1
fi
