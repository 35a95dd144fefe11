//! The backend of a resource this build cannot open (its TLS settings could not be loaded, say):
//! it stays unhealthy with the reason, and every operation is answered `resource_unavailable`.

use super::backend::{Backend, LocalFuture, RunContext};
use super::health::{DatabaseHealth, HealthError};
use crate::messages::{OperationError, OperationOutput};
use crate::protocol::ErrorCode;
use relay_config::Operation;
use serde_json::Value;

/// A resource that cannot be served, and why.
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    pub fn new(reason: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
        }
    }
}

impl Backend for Unavailable {
    type Plan = ();

    fn plan(&self, _operation: Operation, _params: &Value) -> Result<(), OperationError> {
        Err(OperationError::new(
            ErrorCode::ResourceUnavailable,
            self.reason.clone(),
        ))
    }

    fn run(
        &self,
        _plan: (),
        _context: RunContext,
    ) -> LocalFuture<Result<OperationOutput, OperationError>> {
        let err = OperationError::new(ErrorCode::ResourceUnavailable, self.reason.clone());
        Box::pin(async move { Err(err) })
    }

    fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>> {
        let reason = HealthError::Unavailable(self.reason.clone());
        Box::pin(async move { Err(reason) })
    }
}
