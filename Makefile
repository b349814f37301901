# komvux-gateway — see README.md
BIN := target/debug/komvux-gateway
CONFIG := config/test.toml

.PHONY: test run build lint fmt openapi lint-openapi dev-certs clean-dev compose-config chaos fuzz-api fuzz bench bench-scale testssl screenshots

## Every check and test: fmt, clippy, unit/property/integration tests on SQLite and PostgreSQL, OpenAPI lint
test:
	scripts/test.sh

## The test environment on embedded SQLite with the DEV ONLY certificates: API on https://localhost:8443, Mina sidor on https://localhost:8445/mina-sidor/
run: build
	@test -f certs-dev/ca.pem || $(BIN) dev-certs --out certs-dev
	$(BIN) --config $(CONFIG) migrate
	$(BIN) --config $(CONFIG) dev-setup
	$(BIN) --config $(CONFIG) serve

build:
	cargo build --workspace --locked

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

## Regenerate the committed OpenAPI document (a test fails when it is stale)
openapi: build
	$(BIN) openapi --api public > openapi/komvux-v1.yaml
	$(BIN) openapi --api test > openapi/komvux-v1-testmiljo.yaml
	$(BIN) openapi --api intern > openapi/intern-v1.yaml

## DIGG's REST API profile (lint/digg.spectral.yaml) on the committed documents, and the ruleset's own test
lint-openapi:
	scripts/lint-openapi.sh

## Regenerate the DEV ONLY certificates
dev-certs: build
	$(BIN) dev-certs --out certs-dev --force

## Forget the local test environment's database and dev client secrets
clean-dev:
	rm -rf var

## Validate docker-compose.yml (docker compose config; no engine needed)
compose-config:
	scripts/compose-config.sh

## Two replicas, a PostgreSQL restart and a killed gateway under a longer load (make test runs a short one)
chaos:
	KOMVUX_CHAOS_SUBMISSIONS=$${KOMVUX_CHAOS_SUBMISSIONS:-2000} cargo test -p komvux-gateway --test api --locked -- chaos --nocapture

## schemathesis against the real binary over mTLS (make test runs a bounded one)
fuzz-api:
	KOMVUX_FUZZ_EXAMPLES=$${KOMVUX_FUZZ_EXAMPLES:-100} scripts/fuzz-api.sh

## cargo fuzz on every parser of untrusted input, KOMVUX_FUZZ_SECONDS each (default 60)
fuzz:
	scripts/fuzz.sh

## Benchmark: the release binary over mTLS against nginx's static mTLS ceiling (docs/performance.md)
bench:
	scripts/bench.sh

## every read on an empty and a national-scale database side by side (KOMVUX_SCALE_PERSONS, _MESSAGES; docs/performance.md)
bench-scale:
	scripts/bench-scale.sh

## Mina sidor's browser test, saving its screenshots into docs/mina-sidor/ (docs/mina-sidor.md)
screenshots:
	KOMVUX_AXE_JS=$$(scripts/browser-tools.sh) KOMVUX_SCREENSHOTS=$(CURDIR)/docs/mina-sidor \
	  cargo test -p komvux-gateway --test api --locked -- browser::mina_sidor_in_a_real_browser

## testssl.sh on the API listener: nothing above LOW
testssl:
	scripts/testssl.sh
