#!/usr/bin/env bash
# Runs every test of the relay: unit tests of each crate and the integration tests against a real
# PostgreSQL on 127.0.0.1:5432 (started here if it is not running).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

ensure_postgres
cargo test --workspace --locked "$@"
