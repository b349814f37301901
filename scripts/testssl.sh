#!/usr/bin/env bash
# testssl.sh (Debian) against the API listener: protocols, cipher categories, forward
# secrecy and the known vulnerabilities; fails on any finding above LOW. Debian's
# 3.0.8 has no --mtls, so the HTTP checks are skipped against a listener that requires
# client certificates (tests/api/tls.rs asserts those refusals with openssl instead).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v testssl >/dev/null 2>&1 || apt-get install -y -qq testssl.sh >/dev/null
# shellcheck source=scripts/serve-throwaway.sh
source scripts/serve-throwaway.sh
report="$work/testssl.json"
testssl --quiet --color 0 --warnings off --add-ca certs-dev/ca.pem --jsonfile "$report" \
  -p -s -f -U "127.0.0.1:$port" || true
python3 - "$report" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
bad = [f for f in findings if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
for f in bad:
    print(f'{f["severity"]}: {f["id"]}: {f["finding"]}')
print(f'testssl: {len(findings)} results, {len(bad)} above LOW')
sys.exit(1 if bad else 0)
PY
