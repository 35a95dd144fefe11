//! A resource's one admission path: "admitted" bounds the requests it holds (running or waiting,
//! `poolSize + maxQueuedRequests`; beyond it `busy` at once), "unmasked results" bounds the outputs
//! in memory before they are masked (two per pooled connection). Every wait ends by the
//! request's deadline (`timeout`) or its cancel (`cancelled`).

use super::backend::CancelHandle;
use crate::domain::Deadline;
use crate::messages::OperationError;
use crate::protocol::ErrorCode;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The two semaphores of one resource.
#[derive(Debug, Clone)]
pub struct Admission {
    admitted: Arc<Semaphore>,
    capacity: usize,
    results: Arc<Semaphore>,
}

/// Two result slots per pooled connection, so fetching the next result overlaps masking the last.
const RESULTS_PER_CONNECTION: usize = 2;

impl Admission {
    pub fn new(pool_size: u32, max_queued_requests: u32) -> Self {
        let pool = pool_size.max(1) as usize;
        let capacity = pool + max_queued_requests as usize;
        Admission {
            admitted: Arc::new(Semaphore::new(capacity)),
            capacity,
            results: Arc::new(Semaphore::new(pool * RESULTS_PER_CONNECTION)),
        }
    }

    pub fn for_spec(spec: &relay_config::Resource) -> Self {
        Admission::new(spec.pool_size, spec.max_queued_requests)
    }

    /// A place for one more request, or `busy` when every place is taken.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, OperationError> {
        Arc::clone(&self.admitted).try_acquire_owned().map_err(|_| {
            OperationError::new(ErrorCode::Busy, "resource queue is full; retry later")
        })
    }

    /// Requests admitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.capacity - self.admitted.available_permits()
    }

    /// A slot for one unmasked result, waited for until the deadline or a cancel.
    pub async fn result_slot(
        &self,
        deadline: &Deadline,
        cancel: &CancelHandle,
    ) -> Result<OwnedSemaphorePermit, OperationError> {
        permit_of(&self.results, "a result slot", deadline, cancel).await
    }
}

/// A permit of `semaphore` (named `what` in a timeout's message), waited for until the deadline
/// or a cancel; a request cancelled before it got one (even before it arrived) gets none.
pub async fn permit_of(
    semaphore: &Arc<Semaphore>,
    what: &str,
    deadline: &Deadline,
    cancel: &CancelHandle,
) -> Result<OwnedSemaphorePermit, OperationError> {
    let acquire = Arc::clone(semaphore).acquire_owned();
    let waited = deadline
        .bound(what, async {
            tokio::select! {
                acquired = acquire => acquired.map_err(|_| {
                    OperationError::new(ErrorCode::ResourceUnavailable, "the resource is shutting down")
                }),
                () = cancel.cancelled() => Err(cancelled_before_start()),
            }
        })
        .await;
    let permit = waited??;
    not_cancelled(cancel)?;
    Ok(permit)
}

/// Refuses a request cancelled before it started; `select!` may take a free permit over a
/// cancel that is already set, so whoever starts work checks this last.
pub fn not_cancelled(cancel: &CancelHandle) -> Result<(), OperationError> {
    if cancel.is_cancelled() {
        return Err(cancelled_before_start());
    }
    Ok(())
}

pub fn cancelled_before_start() -> OperationError {
    OperationError::new(ErrorCode::Cancelled, "cancelled before it started")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn beyond_the_pool_and_the_queue_is_busy_at_once() {
        let admission = Admission::new(1, 1);
        let first = admission.admit().unwrap();
        let _second = admission.admit().unwrap();
        assert_eq!(admission.in_flight(), 2);
        assert_eq!(
            admission.admit().map(drop).unwrap_err().code,
            ErrorCode::Busy
        );
        drop(first);
        assert_eq!(admission.in_flight(), 1);
        assert!(admission.admit().is_ok());
    }

    #[actix_rt::test]
    async fn a_result_slot_wait_ends_at_the_deadline_or_the_cancel() {
        let admission = Admission::new(1, 0);
        let cancel = CancelHandle::default();
        let long = Deadline::after(Duration::from_secs(30));
        let held = [
            admission.result_slot(&long, &cancel).await.unwrap(),
            admission.result_slot(&long, &cancel).await.unwrap(),
        ];
        let short = Deadline::after(Duration::from_millis(20));
        let err = admission.result_slot(&short, &cancel).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Timeout);
        cancel.cancel();
        let err = admission.result_slot(&long, &cancel).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Cancelled);
        drop(held);
        let fresh = CancelHandle::default();
        assert!(admission.result_slot(&long, &fresh).await.is_ok());
    }
}
