#!/bin/sh
# Run once by the postgres:16 image on its first start (deploy/compose.yaml): creates the relay's
# read-only role RELAY_PG_USER (password RELAY_PG_PASSWORD) in POSTGRES_DB, as docs/security.md
# recommends: CONNECT, USAGE and SELECT only, read-only by default, SELECT on future tables too.
set -eu
psql -v ON_ERROR_STOP=1 -X --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader="$RELAY_PG_USER" -v password="$RELAY_PG_PASSWORD" -v db="$POSTGRES_DB" \
    -v owner="$POSTGRES_USER" <<'SQL'
CREATE ROLE :"reader" LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE :"db" TO :"reader";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO :"reader";
GRANT pg_read_all_stats TO :"reader";
ALTER ROLE :"reader" SET default_transaction_read_only = on;
SQL
