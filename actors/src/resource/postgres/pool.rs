//! The pool of a PostgreSQL resource (at most `poolSize` connections): TLS per `sslmode`, session
//! settings pinned once per connection, a cache of the statements each connection has prepared, and
//! connections opened on the requesting thread so a failed attempt answers that request with its
//! real cause at once. After a failure the [`ConnectGate`] decides when to try again.

use super::connect::{self, Target};
use super::connect_gate::{ConnectCause, ConnectGate, RetryPolicy};
use super::statements::StatementCache;
use crate::log_event::LogEvent;
use crate::metrics::PoolGauges;
use postgres::config::SslMode as DriverSslMode;
use postgres::Client;
use relay_config::{PostgresConnection, Resource, SslMode};
use rustls::ClientConfig;
use slog::{debug, Logger};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
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
    opened_at: Instant,
}

/// An idle connection is closed after this long unused, and any after this long open, so that a
/// server-side change (a revoked grant, a failover) reaches every connection in time.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The first delay before connecting again after a network failure; it doubles up to the health
/// interval.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

struct Idle {
    connection: PgConnection,
    since: Instant,
}

/// Connections open (idle or handed out) and those idle.
struct Slots {
    idle: Vec<Idle>,
    open: u32,
}

/// Why no connection could be handed out.
pub enum CheckoutError {
    /// Connecting failed now or a moment ago: the cause, told to every request until a retry.
    Connect(ConnectCause),
    /// Every connection stayed in use for the whole wait.
    Exhausted(Duration),
}

/// The pool each PostgreSQL resource owns.
///
/// Nothing the relay runs can change a session for the next user: every operation runs in a READ
/// ONLY transaction, either a transaction block that is always rolled back or, for a size-guarded
/// SELECT, the implicit one of a single Bind/Execute/Sync (`at_once.rs`); `SET` and `set_config`
/// are refused by the policy. What would outlive either (`PREPARE`, `LISTEN`, session advisory locks, temporary tables, holdable
/// cursors) is refused by the policy. So the session is set up once, at connect, and a pooled
/// connection is handed out again without a reset round trip.
pub struct PgPool {
    target: Target,
    session_timeout: Duration,
    lock_timeout: Duration,
    max_size: u32,
    slots: Mutex<Slots>,
    /// Signalled when a connection returns or a slot frees up.
    returned: Condvar,
    gate: Arc<Mutex<ConnectGate>>,
    log: Logger,
    /// Told the open and idle counts whenever they change.
    gauges: PoolGauges,
}

/// A connection handed out; it goes back to the pool when dropped (closed if broken).
pub struct PooledConnection<'pool> {
    pool: &'pool PgPool,
    connection: Option<PgConnection>,
}

impl Deref for PooledConnection<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.connection {
            Some(connection) => connection,
            // Taken only in `drop`.
            None => unreachable!("connection taken before drop"),
        }
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.connection {
            Some(connection) => connection,
            None => unreachable!("connection taken before drop"),
        }
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.put_back(connection);
        }
    }
}

impl PgPool {
    pub fn max_size(&self) -> u32 {
        self.max_size
    }

    /// Reports the connections in use and idle to `gauges` from now on.
    pub fn with_gauges(mut self, gauges: PoolGauges) -> Self {
        self.gauges = gauges;
        self.publish(&self.slots());
        self
    }

    /// Tells the gauges how the slots stand; called with the lock held, after every change.
    fn publish(&self, slots: &Slots) {
        let idle = slots.idle.len() as u32;
        self.gauges
            .connections(slots.open.saturating_sub(idle), idle);
    }

    /// An idle connection, or a new one while fewer than `poolSize` are open, else the first to
    /// come back within `timeout`. A new connection is opened on this thread, and its failure is
    /// this call's error.
    pub fn get_timeout(&self, timeout: Duration) -> Result<PooledConnection<'_>, CheckoutError> {
        let deadline = Instant::now() + timeout;
        // Counted in the queue depth while it waits for a connection to come back.
        let mut waiting = None;
        let mut slots = self.slots();
        loop {
            let (found, expired) = take_idle(&mut slots);
            if !expired.is_empty() {
                slots.open -= expired.len() as u32;
                self.returned.notify_all();
            }
            if let Some(connection) = found {
                self.publish(&slots);
                drop(slots);
                drop(expired);
                return Ok(self.hand_out(connection));
            }
            if slots.open < self.max_size {
                slots.open += 1;
                self.publish(&slots);
                drop(slots);
                drop(expired);
                return self.open_connection().map(|c| self.hand_out(c));
            }
            self.publish(&slots);
            drop(expired);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CheckoutError::Exhausted(timeout));
            }
            waiting.get_or_insert_with(|| self.gauges.waiting());
            slots = self
                .returned
                .wait_timeout(slots, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The cause of the last failed attempt and how long until the next may start, if it failed.
    pub fn known_failure(&self) -> Option<(ConnectCause, Duration)> {
        self.gate().known_failure(Instant::now())
    }

    fn hand_out(&self, connection: PgConnection) -> PooledConnection<'_> {
        PooledConnection {
            pool: self,
            connection: Some(connection),
        }
    }

    /// Opens a connection in a slot already counted as open; the slot is freed if it fails.
    fn open_connection(&self) -> Result<PgConnection, CheckoutError> {
        let opened = self.connect();
        if opened.is_err() {
            let mut slots = self.slots();
            slots.open -= 1;
            self.publish(&slots);
            drop(slots);
            self.returned.notify_all();
        }
        opened.map_err(CheckoutError::Connect)
    }

    fn connect(&self) -> Result<PgConnection, ConnectCause> {
        let attempt = self.gate().admit(Instant::now())?;
        debug!(self.log, "{}", LogEvent::ConnectingToDatabase; "address" => &self.target.address,
            "timeoutMs" => self.target.timeout.as_millis() as u64);
        let started = Instant::now();
        match connect::attempt(
            &self.target,
            session_settings(self.session_timeout, self.lock_timeout),
            &self.gate,
        ) {
            Ok(client) => {
                self.gate().succeeded(attempt);
                debug!(self.log, "{}", LogEvent::ConnectedToDatabase; "address" => &self.target.address,
                    "ms" => started.elapsed().as_millis() as u64);
                Ok(PgConnection {
                    client,
                    session_timeout: self.session_timeout,
                    statements: StatementCache::default(),
                    broken: false,
                    opened_at: Instant::now(),
                })
            }
            Err(failed) => {
                let mut gate = self.gate();
                gate.failed(Instant::now(), attempt, failed.cause.clone());
                let retry_in = gate.known_failure(Instant::now()).map(|(_, wait)| wait);
                drop(gate);
                debug!(self.log, "{}", LogEvent::DatabaseConnectionAttemptFailed;
                    "address" => &self.target.address, "error" => &failed.cause.message, "stillWaiting" => failed.stalled,
                    "retryInMs" => retry_in.unwrap_or_default().as_millis() as u64);
                Err(failed.cause)
            }
        }
    }

    fn put_back(&self, connection: PgConnection) {
        let now = Instant::now();
        // A connection dropped by a panic may be mid-statement, or have a cancel on its way.
        let reusable = !connection.broken
            && !std::thread::panicking()
            && !connection.client.is_closed()
            && now.duration_since(connection.opened_at) < MAX_LIFETIME;
        let mut slots = self.slots();
        if reusable {
            slots.idle.push(Idle {
                connection,
                since: now,
            });
            self.publish(&slots);
            drop(slots);
        } else {
            slots.open -= 1;
            self.publish(&slots);
            drop(slots);
            drop(connection);
        }
        self.returned.notify_one();
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn gate(&self) -> MutexGuard<'_, ConnectGate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The most recently returned idle connection still fresh, and the stale ones taken out to be
/// closed (outside the lock: closing sends a message to the server).
fn take_idle(slots: &mut Slots) -> (Option<PgConnection>, Vec<PgConnection>) {
    let now = Instant::now();
    let mut expired = Vec::new();
    while let Some(idle) = slots.idle.pop() {
        let fresh = now.duration_since(idle.since) < IDLE_TIMEOUT
            && now.duration_since(idle.connection.opened_at) < MAX_LIFETIME
            && !idle.connection.client.is_closed();
        if fresh {
            return (Some(idle.connection), expired);
        }
        expired.push(idle.connection);
    }
    (None, expired)
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

/// `host:port` as errors and logs name the server (an IPv6 address in brackets).
fn address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Builds the pool of `resource` (whose connection is `connection`) without connecting:
/// connections open on demand. `health_interval` caps the delay between attempts after failures.
pub fn build_pool(
    resource: &Resource,
    connection: &PostgresConnection,
    tls: ClientConfig,
    health_interval: Duration,
    log: &Logger,
) -> PgPool {
    let host = connection.host.as_deref().unwrap_or("localhost");
    let port = connection.port_or_default();
    let timeout = Duration::from_secs(connection.connect_timeout_seconds);
    let mut config = postgres::Config::new();
    config
        .host(host)
        .port(port)
        .dbname(connection.database.as_deref().unwrap_or_default())
        .user(connection.user.as_deref().unwrap_or_default())
        .application_name(&connection.application_name)
        .connect_timeout(timeout)
        .ssl_mode(match connection.sslmode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => DriverSslMode::Require,
        });
    if let Some(password) = &connection.password {
        config.password(password.expose());
    }
    let policy = RetryPolicy {
        first: FIRST_RETRY_DELAY.min(health_interval),
        cap: health_interval,
    };
    PgPool {
        target: Target {
            config,
            tls: MakeRustlsConnect::new(tls),
            address: address(host, port),
            timeout,
        },
        session_timeout: Duration::from_millis(resource.statement_timeout_ms),
        lock_timeout: Duration::from_millis(resource.lock_timeout_ms()),
        max_size: resource.pool_size.max(1),
        slots: Mutex::new(Slots {
            idle: Vec::new(),
            open: 0,
        }),
        returned: Condvar::new(),
        gate: Arc::new(Mutex::new(ConnectGate::new(policy))),
        log: log.new(slog::o!("database" => connection.database.clone().unwrap_or_default())),
        gauges: PoolGauges::default(),
    }
}
