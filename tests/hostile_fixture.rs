//! Databases holding hostile objects: user functions that leave a trace outside the transaction
//! (a row committed through dblink, a file written by COPY as a SECURITY DEFINER, a session
//! advisory lock), reachable through every path by which PostgreSQL runs code a statement does not
//! name. Created as the administrative user; the read-only role reads them.

use crate::pg_fixture::{admin, shared_db_name, READER};
use crate::support::pg;
use postgres::Client;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The advisory lock key the hostile lock function takes.
pub const LOCK_KEY: i64 = 4242;

/// The file the hostile COPY function writes (the server's own user writes it).
pub fn trace_file(database: &str) -> String {
    format!("/tmp/relay-hostile-{database}.txt")
}

/// A fresh database named `{shared}_{suffix}` with dblink and a `trace` table, and
/// `leave_trace(what)` which commits a row to it through a second connection.
pub fn create_database(suffix: &str) -> String {
    let name = format!("{}_{suffix}", shared_db_name());
    let mut postgres = admin("postgres");
    for statement in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        postgres
            .batch_execute(&statement)
            .expect("create a hostile database");
    }
    let pg = pg();
    let dsn = format!(
        "dbname={name} user={} host={} port={}",
        pg.user, pg.host, pg.port
    );
    admin(&name)
        .batch_execute(&format!(
            r#"
CREATE EXTENSION dblink;
REVOKE TEMPORARY ON DATABASE "{name}" FROM PUBLIC;
GRANT CONNECT ON DATABASE "{name}" TO {READER};
CREATE TABLE trace (id serial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION leave_trace(what text) RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog AS $$
BEGIN
  PERFORM public.dblink_exec('{dsn}', pg_catalog.format('INSERT INTO public.trace (what) VALUES (%L)', what));
  RETURN 1;
END $$;
"#
        ))
        .expect("seed the trace machinery");
    name
}

/// What every hostile object does, by class.
const HOSTILE_OBJECTS_SQL: &str = r#"
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, password text);
INSERT INTO customers VALUES (1, 'Ana', 's3cret');
CREATE SCHEMA s;
-- An overload that fits an integer argument better than the built-in upper(text).
CREATE FUNCTION public.upper(integer) RETURNS text LANGUAGE sql AS $$ SELECT leave_trace('overload')::text $$;
-- Attribute notation: c.touch calls touch(c).
CREATE FUNCTION public.touch(customers) RETURNS int LANGUAGE sql AS $$ SELECT leave_trace('attribute') $$;
-- Operators, on the search path and in a schema off it.
CREATE FUNCTION s.evil_eq(integer, integer) RETURNS boolean LANGUAGE sql AS $$ SELECT leave_trace('operator') = 1 $$;
CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.evil_eq);
CREATE OPERATOR s.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.evil_eq);
-- A domain whose CHECK calls a user function.
CREATE FUNCTION s.check_trace(text) RETURNS boolean LANGUAGE sql AS $$ SELECT leave_trace('domain') = 1 $$;
CREATE DOMAIN s.checked_domain AS text CHECK (s.check_trace(VALUE));
-- A user-defined cast, which a ::text cast of a pair would run.
CREATE TYPE public.pair AS (a int, b int);
CREATE FUNCTION public.pair_text(pair) RETURNS text LANGUAGE sql AS $$ SELECT leave_trace('cast')::text $$;
CREATE CAST (public.pair AS text) WITH FUNCTION public.pair_text(pair);
CREATE TABLE pairs (p public.pair);
INSERT INTO pairs VALUES (ROW(1, 2));
-- A view whose definition calls a volatile user function.
CREATE VIEW public.v AS SELECT c.id, leave_trace('view') AS t FROM customers c;
-- A table whose row-level security policy calls one.
CREATE TABLE secured (id int);
INSERT INTO secured VALUES (1);
CREATE FUNCTION public.rls_check(int) RETURNS boolean LANGUAGE sql AS $$ SELECT leave_trace('rls') = 1 $$;
ALTER TABLE secured ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON secured USING (public.rls_check(id));
-- A file written by the server as a SECURITY DEFINER owned by the superuser.
CREATE FUNCTION public.lower(integer) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN EXECUTE format('COPY (SELECT 1) TO %L', '{file}'); RETURN 'x'; END $$;
-- A session advisory lock, which survives ROLLBACK and stays with the pooled connection.
CREATE FUNCTION public.length(integer) RETURNS int LANGUAGE sql AS $$ SELECT pg_catalog.pg_advisory_lock({lock}::bigint); SELECT 1 $$;
GRANT USAGE ON SCHEMA s TO {reader};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader};
"#;

/// A database with one hostile object of every class, created once per run for each `suffix`
/// (tests that count traces each have their own).
pub fn hostile_db(suffix: &str) -> String {
    static NAMES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    names
        .entry(suffix.to_owned())
        .or_insert_with(|| {
            let name = create_database(suffix);
            let sql = HOSTILE_OBJECTS_SQL
                .replace("{file}", &trace_file(&name))
                .replace("{lock}", &LOCK_KEY.to_string())
                .replace("{reader}", READER);
            admin(&name)
                .batch_execute(&sql)
                .expect("create the hostile objects");
            name
        })
        .clone()
}

/// What the hostile functions left behind, seen from an admin connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Traces {
    pub rows: Vec<String>,
    pub file: bool,
    pub advisory_locks: i64,
}

pub fn traces(db: &mut Client, database: &str) -> Traces {
    let rows = db
        .query("SELECT what FROM trace ORDER BY id", &[])
        .expect("read the traces")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let advisory_locks = db
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int8::oid",
            &[&LOCK_KEY],
        )
        .expect("count advisory locks")
        .get(0);
    Traces {
        rows,
        file: std::path::Path::new(&trace_file(database)).exists(),
        advisory_locks,
    }
}

/// No trace of any kind.
pub fn untouched() -> Traces {
    Traces {
        rows: Vec::new(),
        file: false,
        advisory_locks: 0,
    }
}

/// Forgets what a control run left behind.
pub fn clear_traces(db: &mut Client, database: &str) {
    db.batch_execute("TRUNCATE trace; SELECT pg_advisory_unlock_all()")
        .expect("clear the traces");
    let _ = std::fs::remove_file(trace_file(database));
}
