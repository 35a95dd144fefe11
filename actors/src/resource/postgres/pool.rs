//! The 5-connection pool of a PostgreSQL resource: TLS per `sslmode`, session settings pinned once
//! per connection, and a cache of the statements each connection has prepared.

use super::statements::StatementCache;
use postgres::config::SslMode as DriverSslMode;
use postgres::Client;
use r2d2::{ManageConnection, Pool};
use r2d2_postgres::PostgresConnectionManager;
use relay_config::{Resource, SslMode};
use rustls::ClientConfig;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// One pooled connection: the client, the statement timeout its session runs with, and the
/// statements prepared on it.
pub struct PgConnection {
    pub client: Client,
    /// The session's `statement_timeout`; a request with another timeout sets its own locally.
    pub session_timeout: Duration,
    pub statements: StatementCache,
    /// Set when the connection's state is no longer known (a failed rollback): it is closed
    /// instead of being reused.
    pub broken: bool,
}

/// Opens connections and pins their session settings.
///
/// Nothing the relay runs can change a session for the next user: every operation runs in a READ
/// ONLY transaction that is always rolled back, and a rollback also undoes `SET` and `set_config`.
/// What would outlive it (`PREPARE`, `LISTEN`, session advisory locks, temporary tables, holdable
/// cursors) is refused by the policy. So the session is set up once, at connect, and a pooled
/// connection is handed out again without a reset round trip.
pub struct SessionManager {
    inner: PostgresConnectionManager<MakeRustlsConnect>,
    session_timeout: Duration,
    lock_timeout: Duration,
}

impl ManageConnection for SessionManager {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        let mut client = self.inner.connect()?;
        client.batch_execute(&session_settings(self.session_timeout, self.lock_timeout))?;
        Ok(PgConnection {
            client,
            session_timeout: self.session_timeout,
            statements: StatementCache::default(),
            broken: false,
        })
    }

    fn is_valid(&self, connection: &mut PgConnection) -> Result<(), postgres::Error> {
        // Only asked for by r2d2 when `test_on_check_out` is on, which this pool leaves off: a
        // connection lost while idle is found by the operation's first statement, which retries.
        connection.client.batch_execute("")
    }

    fn has_broken(&self, connection: &mut PgConnection) -> bool {
        connection.broken || connection.client.is_closed()
    }
}

/// The session's settings, sent once per connection as a simple query of fixed text and integers
/// the relay formats itself: the statement, lock and idle-in-transaction timeouts, every
/// transaction read-only by default, and `pg_catalog` first on the search path so that a user's
/// schema cannot shadow built-in functions. The lock timeout matters during incidents: a read
/// queued behind an `ACCESS EXCLUSIVE` lock would queue every later lock request of the table
/// behind it, the application's own reads included.
pub fn session_settings(timeout: Duration, lock_timeout: Duration) -> String {
    let timeout_ms = timeout_millis(timeout);
    let lock_timeout_ms = timeout_millis(lock_timeout);
    format!(
        "SET statement_timeout = {timeout_ms}; \
         SET lock_timeout = {lock_timeout_ms}; \
         SET idle_in_transaction_session_timeout = {timeout_ms}; \
         SET default_transaction_read_only = on; \
         SELECT pg_catalog.set_config('search_path'::pg_catalog.text, \
             pg_catalog.concat('pg_catalog, '::pg_catalog.text, \
                               pg_catalog.current_setting('search_path'::pg_catalog.text)), \
             false)"
    )
}

/// A timeout as PostgreSQL's integer milliseconds (at least 1: 0 would mean no timeout).
pub fn timeout_millis(timeout: Duration) -> u128 {
    timeout.as_millis().clamp(1, i32::MAX as u128)
}

/// The pool type each PostgreSQL resource owns.
pub type PgPool = Pool<SessionManager>;

/// Builds the pool without connecting: connections open on demand on r2d2's own threads.
pub fn build_pool(resource: &Resource, tls: ClientConfig) -> PgPool {
    let connection = &resource.connection;
    let mut config = postgres::Config::new();
    config
        .host(connection.host.as_deref().unwrap_or("localhost"))
        .port(connection.port_or_default(resource.kind))
        .dbname(connection.database.as_deref().unwrap_or_default())
        .user(connection.user.as_deref().unwrap_or_default())
        .application_name(&connection.application_name)
        .connect_timeout(Duration::from_secs(connection.connect_timeout_seconds))
        .ssl_mode(match connection.sslmode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => DriverSslMode::Require,
        });
    if let Some(password) = &connection.password {
        config.password(password.expose());
    }
    let manager = SessionManager {
        inner: PostgresConnectionManager::new(config, MakeRustlsConnect::new(tls)),
        session_timeout: Duration::from_millis(resource.statement_timeout_ms),
        lock_timeout: Duration::from_millis(resource.lock_timeout_ms()),
    };
    Pool::builder()
        .max_size(resource.pool_size)
        .min_idle(Some(0))
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(connection.connect_timeout_seconds))
        .build_unchecked(manager)
}
