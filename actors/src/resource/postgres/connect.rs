//! One connection attempt to a PostgreSQL resource, bounded as a whole by `connectTimeoutSeconds`
//! (the driver bounds only the TCP connect, not a server that accepts and never answers), and the
//! cause of a failed attempt in words: the server's message and SQLSTATE, or the OS error.

use super::connect_gate::{ConnectCause, ConnectGate, RetryClass};
use postgres::Client;
use std::error::Error;
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where and how a resource connects. The driver's configuration holds the password; nothing
/// here prints it.
pub struct Target {
    pub config: postgres::Config,
    pub tls: MakeRustlsConnect,
    /// `host:port`, as errors name the server.
    pub address: String,
    pub timeout: Duration,
}

/// How a failed attempt ended.
pub struct Failed {
    pub cause: ConnectCause,
    /// Given up at the deadline: its thread still waits for the server.
    pub stalled: bool,
}

/// The state of an attempt's thread as its caller sees it.
enum Slot {
    Waiting,
    Done(Box<Result<Client, postgres::Error>>),
    /// The caller gave up waiting: the thread drops whatever it gets and tells the gate.
    Abandoned,
}

type Shared = Arc<(Mutex<Slot>, Condvar)>;

/// Connects on a thread of its own and waits for it until the timeout; then `setup` runs on the new
/// client (the session settings), within the same thread and deadline.
pub fn attempt(
    target: &Target,
    setup: String,
    gate: &Arc<Mutex<ConnectGate>>,
) -> Result<Client, Failed> {
    let shared: Shared = Arc::new((Mutex::new(Slot::Waiting), Condvar::new()));
    let config = target.config.clone();
    let tls = target.tls.clone();
    let for_thread = Arc::clone(&shared);
    let gate_for_thread = Arc::clone(gate);
    let spawned = std::thread::Builder::new()
        .name("relay-pg-connect".into())
        .spawn(move || {
            let outcome = config.connect(tls).and_then(|mut client| {
                client.batch_execute(&setup)?;
                Ok(client)
            });
            finish(&for_thread, &gate_for_thread, outcome);
        });
    if let Err(err) = spawned {
        return Err(Failed {
            cause: transient(&target.address, &format!("cannot start a thread: {err}")),
            stalled: false,
        });
    }
    wait(&shared, target, gate)
}

/// Hands the outcome to the waiting caller, or, when it gave up, drops it and tells the gate.
fn finish(shared: &Shared, gate: &Mutex<ConnectGate>, outcome: Result<Client, postgres::Error>) {
    let (slot, done) = &**shared;
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*slot, Slot::Abandoned) {
        gate.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stall_ended();
        drop(slot);
        // A client that connected too late is closed here, off any runtime thread.
        drop(outcome);
        return;
    }
    *slot = Slot::Done(Box::new(outcome));
    done.notify_all();
}

fn wait(shared: &Shared, target: &Target, gate: &Mutex<ConnectGate>) -> Result<Client, Failed> {
    let (slot, done) = &**shared;
    let deadline = Instant::now() + target.timeout;
    let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Slot::Done(outcome) = std::mem::replace(&mut *guard, Slot::Waiting) {
            return (*outcome).map_err(|err| Failed {
                cause: cause_of(&err, &target.address, target.timeout),
                stalled: false,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            *guard = Slot::Abandoned;
            // Counted while the slot is locked, so the thread cannot end the stall before it began.
            gate.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .stalled();
            return Err(Failed {
                cause: timed_out(&target.address, target.timeout),
                stalled: true,
            });
        }
        guard = done
            .wait_timeout(guard, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// The cause of a failed attempt: the server's own message and SQLSTATE when it answered, else the
/// driver's words with every cause beneath them (the OS error, the TLS failure).
pub fn cause_of(err: &postgres::Error, address: &str, timeout: Duration) -> ConnectCause {
    if let Some(db) = err.as_db_error() {
        let sqlstate = db.code().code();
        return ConnectCause {
            message: format!(
                "cannot connect to {address}: {} (SQLSTATE {sqlstate})",
                db.message()
            ),
            class: RetryClass::of_sqlstate(sqlstate),
        };
    }
    if timed_out_beneath(err) {
        return timed_out(address, timeout);
    }
    transient(address, &error_chain(err))
}

/// An error and its sources, `: `-separated, each said once.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

/// Whether an OS timeout lies beneath the error (the driver's own TCP connect timeout).
fn timed_out_beneath(err: &(dyn Error + 'static)) -> bool {
    let mut source: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The cause of an attempt that got no answer in time.
pub fn timed_out(address: &str, timeout: Duration) -> ConnectCause {
    transient(
        address,
        &format!(
            "connect timeout: no answer within {} s (connectTimeoutSeconds)",
            timeout.as_secs()
        ),
    )
}

fn transient(address: &str, detail: &str) -> ConnectCause {
    ConnectCause {
        message: format!("cannot connect to {address}: {detail}"),
        class: RetryClass::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(&'static str, io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn an_error_is_told_with_every_cause_beneath_it_once() {
        let refused = io::Error::from_raw_os_error(111);
        let wrapped = Wrapper("error connecting to server", refused);
        assert_eq!(
            error_chain(&wrapped),
            "error connecting to server: Connection refused (os error 111)"
        );
        let repeated = Wrapper("failed: oops", io::Error::other("oops"));
        assert_eq!(error_chain(&repeated), "failed: oops");
    }

    #[test]
    fn a_timeout_beneath_is_found_and_names_the_server() {
        let wrapped = Wrapper("error connecting to server", io::ErrorKind::TimedOut.into());
        assert!(timed_out_beneath(&wrapped));
        let refused = Wrapper("x", io::Error::from_raw_os_error(111));
        assert!(!timed_out_beneath(&refused));
        let cause = timed_out("127.0.0.1:6543", Duration::from_secs(1));
        assert_eq!(
            cause.message,
            "cannot connect to 127.0.0.1:6543: connect timeout: no answer within 1 s \
             (connectTimeoutSeconds)"
        );
        assert_eq!(cause.class, RetryClass::Transient);
    }
}
