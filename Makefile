# komvux-gateway — see README.md
.PHONY: test build lint fmt

## Every check and test (fmt, clippy, unit, property and integration tests on SQLite and PostgreSQL)
test:
	scripts/test.sh

build:
	cargo build --workspace --locked

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all
