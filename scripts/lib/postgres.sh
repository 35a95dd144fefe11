# Shared by the project's scripts: make sure a PostgreSQL server answers on 127.0.0.1:5432.
# Starts the local cluster if one is installed but stopped; installs Debian's server if none is.

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        return 0
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "PostgreSQL not found: installing Debian's postgresql package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        echo "no PostgreSQL cluster found under /etc/postgresql" >&2
        return 1
    fi
    echo "Starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
    for _ in $(seq 1 50); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return 0
        sleep 0.2
    done
    echo "PostgreSQL did not become ready on 127.0.0.1:5432" >&2
    return 1
}

# psql as the local administrative user (trust auth on this machine class; PGUSER/PGPASSWORD override).
admin_psql() {
    PGUSER="${PGUSER:-postgres}" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 "$@"
}

# prepare_reader_database DB ROLE PASSWORD < tables.sql — creates DB if missing and a LOGIN role that
# may only read it; the SQL on stdin (tables and rows) runs before the grants, so they cover its tables.
prepare_reader_database() {
    local db="$1" role="$2" password="$3" tables
    tables="$(cat)"
    if [ "$(admin_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
        admin_psql -d postgres -c "CREATE DATABASE $db"
    fi
    admin_psql -d "$db" -v db="$db" -v reader="$role" -v password="$password" <<SQL
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'reader')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"reader" PASSWORD :'password';
$tables
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
SQL
}
