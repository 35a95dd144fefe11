//! One request's deadline: computed once when it enters the relay, from its `timeoutMs` capped by
//! the resource's `statementTimeoutMs`, and carried through every wait it makes.

use super::OperationError;
use crate::protocol::ErrorCode;
use std::time::{Duration, Instant};

/// When a request must be answered by, and how long it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// The deadline of a request arriving now: its own `timeout_ms` may shorten the resource's
    /// `statement_timeout`, never lengthen it.
    pub fn for_request(timeout_ms: Option<u64>, statement_timeout: Duration) -> Self {
        Deadline::starting_at(Instant::now(), timeout_ms, statement_timeout)
    }

    /// [`Deadline::for_request`] for a request that arrived at `start`.
    pub fn starting_at(
        start: Instant,
        timeout_ms: Option<u64>,
        statement_timeout: Duration,
    ) -> Self {
        let budget = timeout_ms.map_or(statement_timeout, |ms| {
            Duration::from_millis(ms).min(statement_timeout)
        });
        Deadline {
            at: start + budget,
            budget,
        }
    }

    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    /// The whole time the request was given.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The time left; zero once the deadline passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The answer to a request whose time ran out while it waited for `what`.
    pub fn expired_error(&self, what: &str) -> OperationError {
        OperationError::new(
            ErrorCode::Timeout,
            format!(
                "no answer within {} ms (waiting for {what})",
                self.budget.as_millis()
            ),
        )
    }

    /// Waits for `work` until the deadline; its time running out is [`Deadline::expired_error`].
    pub async fn bound<T>(
        &self,
        what: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, OperationError> {
        tokio::time::timeout_at(self.at.into(), work)
            .await
            .map_err(|_| self.expired_error(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_shorten_the_resource_timeout_but_never_lengthen_it() {
        let start = Instant::now();
        let configured = Duration::from_millis(30_000);
        let own = Deadline::starting_at(start, Some(200), configured);
        assert_eq!(own.budget(), Duration::from_millis(200));
        assert_eq!(own.at(), start + Duration::from_millis(200));
        let longer = Deadline::starting_at(start, Some(90_000), configured);
        assert_eq!(longer.budget(), configured);
        let default = Deadline::starting_at(start, None, configured);
        assert_eq!(default.budget(), configured);
    }

    #[test]
    fn a_passed_deadline_has_nothing_left_and_times_out() {
        let past = Deadline::starting_at(
            Instant::now() - Duration::from_secs(1),
            Some(10),
            Duration::from_secs(30),
        );
        assert!(past.expired());
        assert_eq!(past.remaining(), Duration::ZERO);
        let err = past.expired_error("a connection");
        assert_eq!(err.code, ErrorCode::Timeout);
        assert!(err.message.contains("10 ms"), "{}", err.message);
    }

    #[actix_rt::test]
    async fn a_bounded_wait_ends_at_the_deadline() {
        let deadline = Deadline::after(Duration::from_millis(20));
        let waited = deadline
            .bound("nothing", std::future::pending::<()>())
            .await;
        assert_eq!(waited.map_err(|e| e.code), Err(ErrorCode::Timeout));
        let ready = Deadline::after(Duration::from_secs(5))
            .bound("x", async { 7 })
            .await;
        assert_eq!(ready, Ok(7));
    }
}
