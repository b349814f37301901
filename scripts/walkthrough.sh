#!/usr/bin/env bash
# A whole flow against the test environment, as the README shows it:
# utbildningsbehov -> ansökan -> antagning -> utbildningsbeslut -> förändring -> betyg.
# Run `make run` in another terminal first. Needs curl and python3.
#   KOMVUX_URL     default https://localhost:8443/komvux/v1
#   KOMVUX_SECRET  default: the file var/dev-clients/dev-stockholm.secret
set -euo pipefail
cd "$(dirname "$0")/.."
URL=${KOMVUX_URL:-https://localhost:8443/komvux/v1}
CERTS=${KOMVUX_CERTS:-certs-dev}
SECRET=${KOMVUX_SECRET:-$(cat var/dev-clients/dev-stockholm.secret)}
PNR=${KOMVUX_PNR:-201212121212}   # Skatteverket's test person "Tolvan"

api() {  # api METHOD PATH [JSON]
  curl -sS --fail-with-body --cacert "$CERTS/ca.pem" \
    --cert "$CERTS/client-stockholm.pem" --key "$CERTS/client-stockholm.key" \
    -H 'client_id: dev-stockholm' -H "client_secret: $SECRET" \
    -H 'content-type: application/json' -X "$1" "$URL$2" ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
header='"kommunkod": "0180", "personnummer": "'$PNR'", "transaktionsdatum": "2026-03-02T10:49:29+01:00", "kallsystem": "Extens", "status": "registrering"'
kurs='{"kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial", "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18"}'

echo "1. Arbetsförmedlingen anvisar (in the test environment: the testdata route)"
api POST /testdata/utbildningsbehov '{"personnummer": "'$PNR'", "hemkommun": "0180", "anvisningsdatum": "2026-02-20", "skolformer": ["gymnasial"], "giltig_tom": "2099-12-31"}' | field '["utbildningsbehov_id"]'
api POST /utbildningsbehov/sok '{"personnummer": "'$PNR'"}' | field '["utbildningsbehov"][0]["status"]'

echo "2. Ansökan"
ansokan=$(api POST /ansokningar "{$header, \"ansokningsdatum\": \"2026-03-01\", \"kurser\": [$kurs]}")
echo "$ansokan" | field '["meddelande_id"]'

echo "3. Antagning"
api POST /antagningar "{$header, \"beslut\": \"antagen\", \"beslutsdatum\": \"2026-04-01\", \"kurser\": [$kurs]}" | field '["status"]'

echo "4. Arbetsförmedlingen beslutar (testdata route); the kommun follows its feed"
api POST /testdata/utbildningsbeslut '{"personnummer": "'$PNR'", "kommunkod": "0180", "beslutsdatum": "2026-04-10", "fom": "2026-08-17", "tom": "2026-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"]}' | field '["status"]'
api GET '/utbildningsbeslut?kommunkod=0180&limit=100' | field '["efter"]'

echo "5. Förändring"
api POST /forandringar "{$header, \"kurskod\": \"MATMAT01a\", \"giltig_fran\": \"2026-09-01\", \"ny_studietakt\": 75}" | field '["typ"]'

echo "6. Betyg"
api POST /betyg "{$header, \"kurskod\": \"MATMAT01a\", \"skolform\": \"gymnasial\", \"betyg\": \"C\", \"betygsdatum\": \"2026-12-18\", \"poang\": 100}" | field '["typ"]'

echo "7. Read the ansökan back"
api GET "/meddelanden/$(echo "$ansokan" | field '["meddelande_id"]')" | field '["aktuell"]'
echo "done"
