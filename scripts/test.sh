#!/usr/bin/env bash
# Runs every test of the relay: unit tests of each crate and the integration tests against a real
# PostgreSQL on 127.0.0.1:5432 (started here if it is not running) and the MongoDB wire-protocol test
# server (its Python packages installed here into target/mongo-venv). Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
source scripts/lib/build-deps.sh
source scripts/lib/mongo-test-server.sh

ensure_build_deps
ensure_postgres
ensure_mongo_test_server
log="$(mktemp /tmp/relay-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
