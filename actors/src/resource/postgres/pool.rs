//! The 5-connection pool of a PostgreSQL resource: TLS per `sslmode`, and a reset before every reuse.

use postgres::config::SslMode as DriverSslMode;
use postgres::Client;
use r2d2::{ManageConnection, Pool};
use r2d2_postgres::PostgresConnectionManager;
use relay_config::{Resource, SslMode};
use rustls::ClientConfig;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Hands out connections only after resetting them: `DISCARD ALL` drops session settings, advisory
/// locks, temporary tables and prepared statements a previous user may have left. A connection whose
/// reset fails is in an unknown state; r2d2 then discards it and opens a fresh one.
pub struct ResettingManager {
    inner: PostgresConnectionManager<MakeRustlsConnect>,
}

impl ManageConnection for ResettingManager {
    type Connection = Client;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Client, postgres::Error> {
        self.inner.connect()
    }

    fn is_valid(&self, client: &mut Client) -> Result<(), postgres::Error> {
        // A simple query: one round trip, where an extended-protocol execute needs two.
        client.batch_execute("DISCARD ALL")
    }

    fn has_broken(&self, client: &mut Client) -> bool {
        client.is_closed()
    }
}

/// The pool type each PostgreSQL resource owns.
pub type PgPool = Pool<ResettingManager>;

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
    let manager = ResettingManager {
        inner: PostgresConnectionManager::new(config, MakeRustlsConnect::new(tls)),
    };
    Pool::builder()
        .max_size(resource.pool_size)
        .min_idle(Some(0))
        .test_on_check_out(true)
        .connection_timeout(Duration::from_secs(connection.connect_timeout_seconds))
        .build_unchecked(manager)
}
