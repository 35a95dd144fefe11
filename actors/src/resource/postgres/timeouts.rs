//! A request's statement timeout: the time remaining to its deadline, set for its transaction
//! only when the session's own timeout does not serve.

use super::pool::timeout_millis;
use std::time::Duration;

/// A statement's timeout is rounded to the request's whole budget, or to the session's own timeout,
/// when they are this close: a `SET LOCAL` round trip (and the loss of the one-round-trip path)
/// would shave off less than a deadline's tolerance (100 ms, of which the answer's own way back
/// takes the rest). A busy host can make a request wait tens of milliseconds before it runs.
const TIMEOUT_SLACK: Duration = Duration::from_millis(80);

/// The statement timeout a request sets for itself, `None` when the session's serves: the time
/// remaining to its deadline (its whole `budget` when it has hardly waited), never more than
/// the session's (the configured) timeout.
pub fn local_timeout(
    budget: Duration,
    remaining: Duration,
    session_timeout: Duration,
) -> Option<Duration> {
    let waited = budget.saturating_sub(remaining);
    let timeout = if waited <= TIMEOUT_SLACK {
        budget
    } else {
        remaining
    };
    (timeout + TIMEOUT_SLACK < session_timeout).then_some(timeout.min(session_timeout))
}

/// Whether a request may run at the session's own timeouts: its budget is the session's (it set
/// no shorter `timeoutMs`). Time it spent waiting does not count: the resource cancels it at its
/// deadline, so the one-round-trip path stays open to requests that queued under load.
pub fn runs_at_session_timeout(budget: Duration, session_timeout: Duration) -> bool {
    local_timeout(budget, budget, session_timeout).is_none()
}

/// A request's own timeouts, set for its transaction only, when they differ from the session's.
/// A simple query of fixed text and one integer the relay formats itself; statements from the
/// control plane only ever travel over the extended protocol, as bound parameters never spliced
/// into SQL.
pub fn local_timeouts(timeout: Duration) -> String {
    let timeout_ms = timeout_millis(timeout);
    format!(
        "SET LOCAL statement_timeout = {timeout_ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {timeout_ms}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_sets_the_time_remaining_unless_the_session_timeout_serves() {
        let ms = Duration::from_millis;
        let session = ms(30_000);
        assert_eq!(local_timeout(session, session, session), None);
        // A few milliseconds spent waiting: the session's own timeout still serves.
        assert_eq!(local_timeout(session, ms(29_995), session), None);
        // A request's own, shorter budget, hardly waited on: the budget itself.
        assert_eq!(
            local_timeout(ms(1_234), ms(1_230), session),
            Some(ms(1_234))
        );
        // Most of it spent waiting: what remains.
        assert_eq!(local_timeout(ms(1_234), ms(400), session), Some(ms(400)));
        assert_eq!(
            local_timeout(session, ms(20_000), session),
            Some(ms(20_000))
        );
    }

    #[test]
    fn only_a_shorter_timeout_of_its_own_keeps_a_request_off_the_session_timeouts() {
        let ms = Duration::from_millis;
        assert!(runs_at_session_timeout(ms(30_000), ms(30_000)));
        assert!(runs_at_session_timeout(ms(29_990), ms(30_000)));
        assert!(!runs_at_session_timeout(ms(1_234), ms(30_000)));
    }
}
