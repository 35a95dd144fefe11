//! What every database engine implements so that one generic resource actor serves it: plan an
//! operation without touching the database, run it within a context (deadline, limits, cancel),
//! cancel it, and check the database's health.

use super::health::{DatabaseHealth, HealthError};
pub use crate::domain::CancelHandle;
use crate::domain::{Deadline, RowMasking};
use crate::messages::{OperationError, OperationOutput};
use relay_config::Operation;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future of the actor's thread.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// What one operation may return: rows and bytes of its answer, from the resource's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_rows: u32,
    pub max_bytes: u64,
}

impl Limits {
    pub fn of(spec: &relay_config::Resource) -> Self {
        Limits {
            max_rows: spec.max_rows_per_query,
            max_bytes: spec.max_result_bytes,
        }
    }
}

/// What running one operation needs besides the plan.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Every wait and the statement itself end by this.
    pub deadline: Deadline,
    pub limits: Limits,
    pub cancel: CancelHandle,
    /// The engine the answer is masked with: a backend may mask rows with it as it writes them
    /// (see [`crate::domain::MaskedRowWriter`]) instead of returning them as values.
    pub masking: Option<Arc<dyn RowMasking>>,
}

/// One database engine behind a resource.
pub trait Backend: 'static {
    /// An operation that passed the engine's policy, ready to run.
    type Plan: 'static;

    /// Parses the request's params and checks them against the engine's read-only policy. Pure:
    /// no database access.
    fn plan(&self, operation: Operation, params: &Value) -> Result<Self::Plan, OperationError>;

    /// Runs a planned operation; the future ends by `context.deadline` (with `timeout`) or when
    /// `context.cancel` fires (with `cancelled`).
    fn run(
        &self,
        plan: Self::Plan,
        context: RunContext,
    ) -> LocalFuture<Result<OperationOutput, OperationError>>;

    /// Stops the running statement of a request the control plane cancelled, where the engine
    /// needs more than [`RunContext::cancel`] to do it.
    fn cancel(&self, _request: &CancelHandle) {}

    /// Checks the database: reachable, and what its user may do.
    fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>>;

    /// Why connecting failed last, and how long until the next attempt may start; `None` while
    /// connections open (or the engine does not say).
    fn connect_failure(&self) -> Option<(String, Duration)> {
        None
    }
}

/// A blocking task of an operation that panicked or was stopped. The panic's message is not
/// passed on: it may quote a value being decoded or masked (the relay's log has where it was).
pub fn crashed(what: &str, err: &tokio::task::JoinError) -> OperationError {
    crashed_as(what, err.is_panic())
}

/// [`crashed`], for work that ran elsewhere than on a blocking task.
pub fn crashed_as(what: &str, panicked: bool) -> OperationError {
    let how = if panicked { "panicked" } else { "was stopped" };
    OperationError::new(
        crate::protocol::ErrorCode::Internal,
        format!("{what} {how}; the relay's log says where"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_cancel_wakes_a_waiter_and_is_remembered() {
        let handle = CancelHandle::default();
        let waiter = handle.clone();
        let waiting = actix_rt::spawn(async move { waiter.cancelled().await });
        tokio::task::yield_now().await;
        handle.cancel();
        assert!(waiting.await.is_ok());
        assert!(handle.is_cancelled());
        // Already cancelled: completes at once.
        handle.cancelled().await;
    }

    #[actix_rt::test]
    async fn a_crash_does_not_pass_on_what_the_panic_said() {
        let secret = String::from("hunter2");
        let task = actix_rt::task::spawn_blocking(move || -> () { panic!("masking {secret}") });
        let err = task.await.expect_err("the task panicked");
        let crashed = crashed("the operation", &err);
        assert_eq!(crashed.code, crate::protocol::ErrorCode::Internal);
        assert!(!crashed.message.contains("hunter2"), "{}", crashed.message);
        assert!(crashed.message.contains("panicked"), "{}", crashed.message);
    }
}
