#!/usr/bin/env bash
# End-to-end demo: the development control plane, the relay with the example configuration, and the
# local PostgreSQL. Creates a demo database and a read-only role, prints the relay's startup lines, the
# control plane's status document and the answer to a sample operation, then stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
source scripts/lib/build-deps.sh

port="${DEMO_PORT:-8080}"
workdir="$(mktemp -d /tmp/relay-demo.XXXXXX)"
export RELAY_TOKEN="demo-relay-token-$RANDOM$RANDOM"
export TENANT_ID="demo-tenant"
export RELAY_DEVPLANE_API_KEY="demo-api-key"
export PG_HOST=127.0.0.1 PG_DATABASE=relay_demo PG_USER=relay_demo_reader
export PG_PASSWORD="demo-password-$RANDOM$RANDOM"

ensure_build_deps
ensure_postgres
echo "==> Preparing database $PG_DATABASE and read-only role $PG_USER"
admin_psql -d postgres -c "SELECT 1" >/dev/null
prepare_reader_database "$PG_DATABASE" "$PG_USER" "$PG_PASSWORD" <<'SQL'
CREATE TABLE IF NOT EXISTS customers (
  id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, cpf text, created_at timestamptz DEFAULT now());
INSERT INTO customers (id, name, email, cpf) VALUES
  (1, 'Ana Souza', 'ana.souza@example.com', '123.456.789-09'),
  (2, 'Bruno Lima', 'bruno@example.org', '987.654.321-00')
ON CONFLICT (id) DO NOTHING;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS api_token text;
UPDATE customers SET api_token = 'tok-' || md5(id::text) WHERE api_token IS NULL;
SQL

echo "==> Building the relay (release)"
cargo build --release --locked --bins

cleanup() {
    [ -n "${relay_pid:-}" ] && kill -TERM "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
    [ -n "${devplane_pid:-}" ] && kill -TERM "$devplane_pid" 2>/dev/null && wait "$devplane_pid" 2>/dev/null
    true
}
trap cleanup EXIT

echo "==> Starting the development control plane on 127.0.0.1:$port"
./target/release/relay-devplane --listen "127.0.0.1:$port" >"$workdir/devplane.log" 2>&1 &
devplane_pid=$!
for _ in $(seq 1 100); do
    grep -q "Dev control plane listening" "$workdir/devplane.log" 2>/dev/null && break
    sleep 0.1
done

sed "s#wss://api.causeflow.ai/v1/relay/connect#ws://127.0.0.1:$port/v1/relay/connect#" \
    config/examples/relay-config.yaml >"$workdir/relay-config.yaml"

echo "==> Starting the relay with the example configuration"
./target/release/relay --config "$workdir/relay-config.yaml" run >"$workdir/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 300); do
    grep -q '"msg":"Relay ready"' "$workdir/relay.log" 2>/dev/null && break
    kill -0 "$relay_pid" 2>/dev/null || break
    sleep 0.1
done
cat "$workdir/relay.log"
grep -q '"msg":"Relay ready"' "$workdir/relay.log" || { echo "relay did not become ready" >&2; exit 1; }

api() {
    curl -sS -H "Authorization: Bearer $RELAY_DEVPLANE_API_KEY" -H 'Content-Type: application/json' "$@"
}
echo
echo "==> GET /v1/relay/status"
api "http://127.0.0.1:$port/v1/relay/status" | python3 -m json.tool
echo
echo "==> POST /v1/relay/operations  {\"resourceId\":\"main-pg\",\"operation\":\"list_tables\"}"
api -X POST "http://127.0.0.1:$port/v1/relay/operations" \
    -d '{"resourceId":"main-pg","operation":"list_tables"}' | python3 -m json.tool
echo
echo "==> POST /v1/relay/operations  query: SELECT id, name, email, cpf FROM customers  (note the masking)"
api -X POST "http://127.0.0.1:$port/v1/relay/operations" \
    -d '{"resourceId":"main-pg","operation":"query","params":{"sql":"SELECT id, name, email, cpf FROM customers ORDER BY id"}}' \
    | python3 -m json.tool
echo
echo "==> query: SELECT name, upper(api_token) AS shown FROM customers  (a column rule follows api_token under another name)"
api -X POST "http://127.0.0.1:$port/v1/relay/operations" \
    -d '{"resourceId":"main-pg","operation":"query","params":{"sql":"SELECT name, upper(api_token) AS shown FROM customers ORDER BY id"}}' \
    | python3 -m json.tool
echo
echo "==> POST /v1/relay/operations  query: DELETE FROM customers  (refused: the relay is read-only)"
api -X POST "http://127.0.0.1:$port/v1/relay/operations" \
    -d '{"resourceId":"main-pg","operation":"query","params":{"sql":"DELETE FROM customers"}}' | python3 -m json.tool
echo
echo "==> GET /v1/relay/audit  (the audit records the control plane received; last two shown)"
api "http://127.0.0.1:$port/v1/relay/audit" | python3 -c \
    'import json, sys; records = json.load(sys.stdin)["records"]; print(json.dumps(records[-2:], indent=2))'
echo
echo "==> relay audit verify  (checks the hash chain in the relay's own log)"
sleep 0.5
./target/release/relay audit verify "$workdir/relay.log"
echo
echo "==> Stopping (logs kept in $workdir)"
