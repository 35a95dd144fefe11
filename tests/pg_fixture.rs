//! PostgreSQL fixtures: a shared test database with a read-only and a writing role, seeded once per run.

use crate::support::pg;
use postgres::{Client, NoTls};
use std::sync::OnceLock;

/// The shared database's name: `RELAY_TEST_SHARED_DB`, else `relay_it`. Two checkouts testing at
/// once on one server each set their own, since every run drops and re-creates it.
pub fn shared_db_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("RELAY_TEST_SHARED_DB").unwrap_or_else(|_| "relay_it".to_owned())
    })
}
pub const READER: &str = "relay_it_reader";
pub const WRITER: &str = "relay_it_writer";

/// A client of the administrative user (a superuser on the test server).
pub fn admin(database: &str) -> Client {
    let pg = pg();
    let dsn = format!(
        "host={} port={} user={} dbname={database}",
        pg.host, pg.port, pg.user
    );
    Client::connect(&dsn, NoTls).expect("connect as the administrative user")
}

/// A client of the read-only role.
pub fn reader() -> Client {
    let pg = pg();
    let dsn = format!(
        "host={} port={} user={READER} dbname={}",
        pg.host,
        pg.port,
        shared_db()
    );
    Client::connect(&dsn, NoTls).expect("connect as the reader")
}

/// The shared database, created and seeded on first use in this test run.
pub fn shared_db() -> &'static str {
    static SEEDED: OnceLock<()> = OnceLock::new();
    SEEDED.get_or_init(create_shared_db);
    shared_db_name()
}

const ROLES_SQL: &str = "
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relay_it_reader') THEN CREATE ROLE relay_it_reader LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relay_it_writer') THEN CREATE ROLE relay_it_writer LOGIN; END IF;
END $$;";

const SEED_SQL: &str = r#"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE TABLE sentinel (id serial PRIMARY KEY, note text NOT NULL);
INSERT INTO sentinel (note) VALUES ('alpha'), ('beta');
CREATE TABLE big AS SELECT g AS id, 'row ' || g AS label FROM generate_series(1, 5000) g;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
  i2 int2, i4 int4, i8 int8, num numeric(12,3), f4 float4, f8 float8, b bool, t text, vc varchar(10),
  ch char(3), u uuid, d date, tm time, ts timestamp, tstz timestamptz, iv interval, j json, jb jsonb,
  by bytea, arr int4[], tarr text[], m mood, ip inet, net cidr, pt point, mon money, nothing text);
INSERT INTO all_types VALUES (-2, 40000, 9007199254740993, 12345.678, 1.5, 'NaN', true,
  'ana@example.com', 'abc', 'xy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '10:30:00.5',
  '2024-01-15 10:30:00', '2024-01-15 10:30:00+00', '1 year 2 months 3 days 04:05:06',
  '{"a": [1, "x"]}', '{"email": "bo@example.org"}', '\xdeadbeef', '{1,NULL,3}', '{"a","b"}', 'happy',
  '192.168.0.1', '10.0.0.0/8', '(1,2)', 12.34, NULL);
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text DEFAULT 'nobody@example.com');
COMMENT ON TABLE customers IS 'people who buy';
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), amount numeric(12,2));
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW big_view AS SELECT id FROM big;
INSERT INTO customers VALUES (1, 'Ana', 'ana@example.com');
GRANT USAGE ON SCHEMA public TO relay_it_reader, relay_it_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO relay_it_reader, relay_it_writer;
GRANT USAGE ON SEQUENCE sentinel_id_seq TO relay_it_writer;
GRANT INSERT ON sentinel TO relay_it_writer;
"#;

fn create_shared_db() {
    let name = shared_db_name();
    let mut postgres = admin("postgres");
    postgres.batch_execute(ROLES_SQL).expect("create roles");
    postgres
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .expect("drop the previous shared database");
    postgres
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .expect("create the shared database");
    let mut db = admin(name);
    db.batch_execute(SEED_SQL)
        .expect("seed the shared database");
    db.batch_execute(&format!(
        "GRANT CONNECT ON DATABASE \"{name}\" TO {READER}, {WRITER}; \
         REVOKE TEMPORARY ON DATABASE \"{name}\" FROM PUBLIC"
    ))
    .expect("grant connect on the shared database");
}
