//! The requests a resource runs, each with its cancel and a timer at its deadline: when the
//! deadline passes while the engine still works, the resource cancels it as the control plane
//! could, and the answer is `timeout`. So a statement that runs at the session's timeouts (no
//! `SET LOCAL`, one round trip) still ends by its request's deadline, however long it waited first.

use super::backend::CancelHandle;
use crate::domain::RequestKey;
use crate::messages::OperationError;
use crate::protocol::ErrorCode;
use actix::SpawnHandle;
use std::collections::HashMap;

/// One request the engine runs.
#[derive(Debug)]
pub struct RunningRequest {
    pub cancel: CancelHandle,
    /// The timer at the deadline, cancelled when the request ends first.
    pub deadline_timer: Option<SpawnHandle>,
    /// The deadline passed and the request was cancelled for it.
    pub expired: bool,
}

/// The running requests, by their own key: two of the same id (one sent again after a reconnect
/// while the first still runs) are two entries.
pub type Running = HashMap<RequestKey, RunningRequest>;

impl RunningRequest {
    pub fn new(cancel: CancelHandle) -> Self {
        RunningRequest {
            cancel,
            deadline_timer: None,
            expired: false,
        }
    }

    /// A request cancelled at its deadline is answered `timeout`, not `cancelled`.
    pub fn answer<T>(
        &self,
        outcome: Result<T, OperationError>,
        budget_ms: u128,
    ) -> Result<T, OperationError> {
        cancelled_as_timeout(outcome, self.expired, || {
            format!("no answer within {budget_ms} ms (the statement ran out of time)")
        })
    }
}

/// When the relay itself cancelled a request (`because`: its deadline, the end of the grace
/// period), the engine's `cancelled` is answered `timeout` with `why`: the control plane asked
/// for no cancel. Every other outcome stays.
pub fn cancelled_as_timeout<T>(
    outcome: Result<T, OperationError>,
    because: bool,
    why: impl FnOnce() -> String,
) -> Result<T, OperationError> {
    match outcome {
        Err(err) if because && err.code == ErrorCode::Cancelled => {
            Err(OperationError::new(ErrorCode::Timeout, why()))
        }
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_at_the_deadline_is_a_timeout_and_other_outcomes_stay() {
        let cancelled = || Err::<(), _>(OperationError::new(ErrorCode::Cancelled, "cancelled"));
        let mut running = RunningRequest::new(CancelHandle::default());
        assert_eq!(running.answer(cancelled(), 300), cancelled());
        running.expired = true;
        let answered = running.answer(cancelled(), 300).unwrap_err();
        assert_eq!(answered.code, ErrorCode::Timeout);
        assert!(answered.message.contains("300 ms"), "{}", answered.message);
        assert_eq!(running.answer(Ok(1), 300), Ok(1));
        let failed = Err::<(), _>(OperationError::new(ErrorCode::QueryFailed, "boom"));
        assert_eq!(running.answer(failed.clone(), 300), failed);
    }
}
