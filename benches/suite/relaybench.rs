//! The `relaybench` PostgreSQL database: customers and orders from the deterministic generator,
//! built once and reused while the generator is unchanged, and a read-only role to read it with,
//! as the relay is deployed.

use crate::dataset::{customers, for_each_order};
use postgres::{Client, NoTls};
use std::io::Write;
use std::time::Instant;

/// The role the relay and the direct baseline both connect as: SELECT only.
pub const READER: &str = "relaybench_reader";

/// Bump whenever the generator or the schema changes, so a stale database is rebuilt.
const GENERATOR_VERSION: i32 = 1;

/// A built database and its size.
pub struct Dataset {
    pub database: String,
    pub customers: usize,
    pub orders: usize,
}

impl Dataset {
    /// libpq-style connection settings for the read-only role.
    pub fn reader_settings(&self) -> String {
        format!(
            "host={} port={} user={READER} dbname={}",
            host(),
            port(),
            self.database
        )
    }
}

/// The server under test: 127.0.0.1:5432 unless `RELAY_BENCH_PGHOST`/`RELAY_BENCH_PGPORT` say.
pub fn host() -> String {
    std::env::var("RELAY_BENCH_PGHOST").unwrap_or_else(|_| "127.0.0.1".into())
}

pub fn port() -> u16 {
    std::env::var("RELAY_BENCH_PGPORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432)
}

/// The administrative user that builds the database (trust auth locally; `PGUSER`/`PGPASSWORD`).
pub fn connect_admin(dbname: &str) -> Result<Client, String> {
    let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
    let mut settings = format!(
        "host={} port={} user={user} dbname={dbname}",
        host(),
        port()
    );
    if let Ok(password) = std::env::var("PGPASSWORD") {
        settings.push_str(&format!(" password={password}"));
    }
    Client::connect(&settings, NoTls).map_err(|err| {
        format!(
            "cannot connect to PostgreSQL as {user} ({dbname}): {}",
            describe(&err)
        )
    })
}

/// The server's own message when there is one (`postgres::Error` alone prints "db error").
pub fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// Makes sure `database` holds exactly the generator's `customers` and `orders` rows.
pub fn ensure(database: &str, customers: usize, orders: usize) -> Result<Dataset, String> {
    let dataset = Dataset {
        database: database.to_owned(),
        customers,
        orders,
    };
    if !is_current(&dataset)? {
        build(&dataset)?;
    }
    grant_reader(&dataset)?;
    Ok(dataset)
}

fn is_current(dataset: &Dataset) -> Result<bool, String> {
    let mut admin = connect_admin("postgres")?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&dataset.database],
        )
        .map_err(|err| describe(&err))?
        .is_some();
    if !exists {
        return Ok(false);
    }
    let mut client = connect_admin(&dataset.database)?;
    let meta = client.query_opt(
        "SELECT generator, customers, orders FROM relaybench_meta",
        &[],
    );
    Ok(matches!(meta, Ok(Some(row))
        if row.get::<_, i32>(0) == GENERATOR_VERSION
            && row.get::<_, i64>(1) == dataset.customers as i64
            && row.get::<_, i64>(2) == dataset.orders as i64))
}

fn build(dataset: &Dataset) -> Result<(), String> {
    let started = Instant::now();
    eprintln!(
        "building database {}: {} customers, {} orders (once; reused while the generator is unchanged)",
        dataset.database, dataset.customers, dataset.orders
    );
    let sql = |client: &mut Client, text: &str| {
        client
            .batch_execute(text)
            .map_err(|err| format!("{text}: {}", describe(&err)))
    };
    let mut admin = connect_admin("postgres")?;
    let name = &dataset.database;
    sql(
        &mut admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )?;
    sql(&mut admin, &format!("CREATE DATABASE {name}"))?;
    let mut client = connect_admin(name)?;
    sql(&mut client, SCHEMA)?;
    copy_customers(&mut client, dataset.customers)?;
    copy_orders(&mut client, dataset.orders, dataset.customers)?;
    // One at a time: VACUUM refuses to run inside the implicit transaction of a multi-statement string.
    for statement in INDEXES.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sql(&mut client, statement)?;
    }
    let (customers, orders) = (dataset.customers as i64, dataset.orders as i64);
    let meta: [&(dyn postgres::types::ToSql + Sync); 3] = [&GENERATOR_VERSION, &customers, &orders];
    client
        .execute("INSERT INTO relaybench_meta VALUES ($1, $2, $3)", &meta)
        .map_err(|err| describe(&err))?;
    eprintln!(
        "database {name} built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const SCHEMA: &str = "
CREATE TABLE relaybench_meta (generator int NOT NULL, customers bigint NOT NULL, orders bigint NOT NULL);
CREATE TABLE customers (
    id bigint NOT NULL, name text NOT NULL, email text NOT NULL, cpf text NOT NULL,
    phone text NOT NULL, address text NOT NULL, created_at timestamptz NOT NULL, notes text NOT NULL);
CREATE TABLE orders (
    id bigint NOT NULL, customer_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
    status text NOT NULL, created_at timestamptz NOT NULL);";

/// Keys and indexes after loading: far faster than maintaining them row by row.
const INDEXES: &str = "
ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_created_at_idx ON orders (created_at);
VACUUM ANALYZE customers; VACUUM ANALYZE orders;";

fn copy_customers(client: &mut Client, count: usize) -> Result<(), String> {
    let mut writer = client
        .copy_in("COPY customers FROM STDIN")
        .map_err(|err| describe(&err))?;
    for c in customers(count) {
        let line = [
            c.id.to_string(),
            c.name,
            c.email,
            c.cpf,
            c.phone,
            c.address,
            timestamp(c.created_at),
            c.notes,
        ]
        .map(|field| escape(&field))
        .join("\t");
        writeln!(writer, "{line}").map_err(|err| err.to_string())?;
    }
    writer.finish().map_err(|err| describe(&err))?;
    Ok(())
}

fn copy_orders(client: &mut Client, count: usize, customers: usize) -> Result<(), String> {
    let mut writer = client
        .copy_in("COPY orders FROM STDIN")
        .map_err(|err| describe(&err))?;
    let mut failed = None;
    for_each_order(count, customers, |o| {
        if failed.is_some() {
            return;
        }
        let written = writeln!(
            writer,
            "{}\t{}\t{}.{:02}\t{}\t{}",
            o.id,
            o.customer_id,
            o.amount_cents / 100,
            o.amount_cents % 100,
            o.status,
            timestamp(o.created_at)
        );
        failed = written.err();
    });
    if let Some(err) = failed {
        return Err(err.to_string());
    }
    writer.finish().map_err(|err| describe(&err))?;
    Ok(())
}

/// A value in COPY's text format.
fn escape(field: &str) -> String {
    field
        .replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS+00` (days to civil date: H. Hinnant's algorithm).
fn timestamp(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}+00",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The reader may connect and SELECT, nothing else: the relay reports `canWrite: false` for it.
fn grant_reader(dataset: &Dataset) -> Result<(), String> {
    let name = &dataset.database;
    let mut client = connect_admin(name)?;
    client
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
                 CREATE ROLE {READER} LOGIN;
               END IF;
             END $$;
             REVOKE ALL ON DATABASE {name} FROM PUBLIC;
             GRANT CONNECT ON DATABASE {name} TO {READER};
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO {READER};
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER};"
        ))
        .map_err(|err| {
            format!(
                "cannot set up the read-only role {READER}: {}",
                describe(&err)
            )
        })
}
