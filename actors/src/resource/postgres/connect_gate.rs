//! When a PostgreSQL resource may try to connect again after a failed attempt. The cause of the last
//! failure is kept, so requests fail at once with it instead of each trying again (and, for a wrong
//! password, each failing an authentication the server logs).

use std::time::{Duration, Instant};

/// How soon a kind of connection failure may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// The server refused the user or the database (authentication, authorization, a missing
    /// database): nothing changes until an operator does, so it is tried again only at the health
    /// interval, never in a loop that fills the server's log with failed authentications.
    Refused,
    /// The network, TLS, a timeout, a server starting up or out of connections: tried again after a
    /// backoff that doubles up to the health interval.
    Transient,
}

impl RetryClass {
    /// The class of a SQLSTATE the server answered a connection attempt with.
    pub fn of_sqlstate(sqlstate: &str) -> RetryClass {
        match sqlstate {
            // invalid_password, invalid_authorization_specification, invalid_catalog_name
            // (no such database), insufficient_privilege (no CONNECT on the database).
            "28P01" | "28000" | "3D000" | "42501" => RetryClass::Refused,
            _ => RetryClass::Transient,
        }
    }
}

/// Why connecting failed: the text requests and the health check report, and how soon to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectCause {
    pub message: String,
    pub class: RetryClass,
}

/// The delays between attempts after failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The delay after the first transient failure.
    pub first: Duration,
    /// The longest delay, and the delay after a refusal: the health interval.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The delay after `failures` consecutive failures (at least 1) whose last was of `class`.
    pub fn delay(&self, class: RetryClass, failures: u32) -> Duration {
        match class {
            RetryClass::Refused => self.cap,
            RetryClass::Transient => {
                let doublings = failures.saturating_sub(1).min(16);
                self.first.saturating_mul(1 << doublings).min(self.cap)
            }
        }
    }
}

/// An attempt the gate let through; handed back with its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Made after a failure, as the one retry: others fail with the known cause meanwhile.
    retry: bool,
}

/// The last failure and when the next attempt may start.
#[derive(Debug, Clone)]
struct KnownFailure {
    cause: ConnectCause,
    failures: u32,
    retry_at: Instant,
}

/// Attempts given up at their deadline whose threads still wait for a silent server, at most: a
/// server that never answers costs this many waiting threads, not one per retry.
pub const MAX_STALLED_ATTEMPTS: usize = 2;

/// Decides whether a connection attempt may start now.
#[derive(Debug)]
pub struct ConnectGate {
    policy: RetryPolicy,
    failure: Option<KnownFailure>,
    retrying: bool,
    stalled: usize,
}

impl ConnectGate {
    pub fn new(policy: RetryPolicy) -> ConnectGate {
        ConnectGate {
            policy,
            failure: None,
            retrying: false,
            stalled: 0,
        }
    }

    /// Lets an attempt start, or refuses it with the cause of the last failure: until its delay has
    /// passed, while the one retry runs, or while too many attempts still wait for a silent server.
    /// Without a known failure attempts run side by side (a pool growing under load).
    pub fn admit(&mut self, now: Instant) -> Result<Attempt, ConnectCause> {
        let Some(failure) = &self.failure else {
            return Ok(Attempt { retry: false });
        };
        if self.retrying || now < failure.retry_at || self.stalled >= MAX_STALLED_ATTEMPTS {
            return Err(failure.cause.clone());
        }
        self.retrying = true;
        Ok(Attempt { retry: true })
    }

    /// An attempt connected: the failure is forgotten.
    pub fn succeeded(&mut self, attempt: Attempt) {
        self.failure = None;
        if attempt.retry {
            self.retrying = false;
        }
    }

    /// An attempt failed with `cause`: it is what requests get until the next attempt may start.
    pub fn failed(&mut self, now: Instant, attempt: Attempt, cause: ConnectCause) {
        let failures = self.failure.as_ref().map_or(0, |f| f.failures) + 1;
        let retry_at = now + self.policy.delay(cause.class, failures);
        self.failure = Some(KnownFailure {
            cause,
            failures,
            retry_at,
        });
        if attempt.retry {
            self.retrying = false;
        }
    }

    /// An attempt was given up at its deadline; its thread still waits for the server.
    pub fn stalled(&mut self) {
        self.stalled += 1;
    }

    /// A given-up attempt's thread finished at last.
    pub fn stall_ended(&mut self) {
        self.stalled = self.stalled.saturating_sub(1);
    }

    /// The cause of the last failure and how long until the next attempt may start, if it failed.
    pub fn known_failure(&self, now: Instant) -> Option<(ConnectCause, Duration)> {
        self.failure.as_ref().map(|failure| {
            let wait = failure.retry_at.saturating_duration_since(now);
            (failure.cause.clone(), wait)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn gate() -> ConnectGate {
        ConnectGate::new(RetryPolicy {
            first: SECOND,
            cap: 30 * SECOND,
        })
    }

    fn cause(class: RetryClass) -> ConnectCause {
        ConnectCause {
            message: "cannot connect to 127.0.0.1:5432: it failed".into(),
            class,
        }
    }

    #[test]
    fn refusals_of_the_user_or_database_wait_for_the_health_interval() {
        for sqlstate in ["28P01", "28000", "3D000", "42501"] {
            assert_eq!(RetryClass::of_sqlstate(sqlstate), RetryClass::Refused);
        }
        for sqlstate in ["57P03", "53300", "08006"] {
            assert_eq!(RetryClass::of_sqlstate(sqlstate), RetryClass::Transient);
        }
        let policy = gate().policy;
        assert_eq!(policy.delay(RetryClass::Refused, 1), 30 * SECOND);
    }

    #[test]
    fn transient_failures_back_off_doubling_up_to_the_cap() {
        let policy = gate().policy;
        let delays: Vec<u64> = (1..=7)
            .map(|n| policy.delay(RetryClass::Transient, n).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(policy.delay(RetryClass::Transient, u32::MAX), 30 * SECOND);
    }

    #[test]
    fn after_a_failure_attempts_are_refused_with_its_cause_until_the_delay_passed() {
        let mut gate = gate();
        let start = Instant::now();
        let first = gate.admit(start).unwrap();
        gate.failed(start, first, cause(RetryClass::Refused));
        for later in [0, 1, 29] {
            let refused = gate.admit(start + later * SECOND);
            assert_eq!(refused, Err(cause(RetryClass::Refused)));
        }
        let (known, wait) = gate.known_failure(start + 10 * SECOND).unwrap();
        assert_eq!((known, wait), (cause(RetryClass::Refused), 20 * SECOND));
        assert!(gate.admit(start + 30 * SECOND).is_ok());
    }

    #[test]
    fn one_retry_at_a_time_and_a_success_forgets_the_failure() {
        let mut gate = gate();
        let start = Instant::now();
        let first = gate.admit(start).unwrap();
        gate.failed(start, first, cause(RetryClass::Transient));
        let retry = gate.admit(start + SECOND).unwrap();
        assert!(
            gate.admit(start + SECOND).is_err(),
            "a second retry at once"
        );
        gate.failed(start + SECOND, retry, cause(RetryClass::Transient));
        // The second failure in a row waits 2 s.
        assert!(gate.admit(start + 2 * SECOND).is_err());
        let retry = gate.admit(start + 3 * SECOND).unwrap();
        gate.succeeded(retry);
        assert!(gate.known_failure(start).is_none());
        assert!(gate.admit(start + 3 * SECOND).is_ok());
        assert!(gate.admit(start + 3 * SECOND).is_ok(), "side by side again");
    }

    #[test]
    fn attempts_stuck_on_a_silent_server_are_bounded() {
        let mut gate = gate();
        let mut now = Instant::now();
        for _ in 0..MAX_STALLED_ATTEMPTS {
            let attempt = gate.admit(now).unwrap();
            gate.stalled();
            gate.failed(now, attempt, cause(RetryClass::Transient));
            now += 60 * SECOND;
        }
        assert!(gate.admit(now).is_err(), "a third waiting thread");
        gate.stall_ended();
        assert!(gate.admit(now).is_ok());
    }
}
