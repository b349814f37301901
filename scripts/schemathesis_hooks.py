"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

The API takes a personnummer only with a real date and a valid check digit, and in the
test environment only Skatteverket's test personnummer: a pattern cannot say that, so
the format `personnummer` (declared by the OpenAPI document) draws from the test
persons the script prepared (KOMVUX_FUZZ_PERSONS, each with an utbildningsbehov and an
utbildningsbeslut in the client's kommun), so that generated messages reach the API's
logic instead of stopping at the check digit (scripts/schemathesis.toml gives GET
/meddelanden/{meddelande_id} the id of a message the script stored).
"""

import os

import schemathesis
from hypothesis import strategies as st

PERSONS = [p for p in os.environ.get("KOMVUX_FUZZ_PERSONS", "").split(",") if p]

if PERSONS:
    schemathesis.openapi.format("personnummer", st.sampled_from(PERSONS))
