//! The label sets of the relay's metrics, and the rules that keep their values bounded: a label
//! is only ever a configured resource id, a known operation name, an outcome, an error code or a
//! masking pattern name, never text a peer chose or data a query returned.

use crate::protocol::{ErrorCode, Outbound};
use prometheus_client::encoding::EncodeLabelSet;
use std::collections::BTreeSet;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

/// The label value for a resource id or operation the relay does not know.
pub const UNKNOWN: &str = "unknown";

/// One resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

/// One resource and operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub resource: String,
    pub operation: String,
}

/// How one operation ended: `outcome` is `ok` or `error`, `code` the error code (empty when ok).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub resource: String,
    pub operation: String,
    pub outcome: String,
    pub code: String,
}

/// One masking pattern on one resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PatternLabels {
    pub resource: String,
    pub pattern: String,
}

/// Maps what a request names to label values that cannot grow without bound.
#[derive(Debug, Default)]
pub struct LabelPolicy {
    /// Grows when a reload adds a resource; ids come only from the configuration.
    resources: RwLock<BTreeSet<String>>,
}

impl LabelPolicy {
    pub fn new(resources: impl IntoIterator<Item = String>) -> Self {
        LabelPolicy {
            resources: RwLock::new(resources.into_iter().collect()),
        }
    }

    fn known(&self) -> RwLockReadGuard<'_, BTreeSet<String>> {
        // The set is only ever extended, so a panicked writer left it usable.
        self.resources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The configured resource ids, in order.
    pub fn resources(&self) -> impl Iterator<Item = String> {
        self.known().iter().cloned().collect::<Vec<_>>().into_iter()
    }

    /// Makes `id`, a resource a reload added, a label value.
    pub fn add_resource(&self, id: &str) {
        let mut known = self
            .resources
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        known.insert(id.to_owned());
    }

    /// The resource label: a configured id, or `unknown` for anything a request made up.
    pub fn resource(&self, requested: &str) -> String {
        match self.known().contains(requested) {
            true => requested.to_owned(),
            false => UNKNOWN.to_owned(),
        }
    }

    pub fn resource_labels(&self, requested: &str) -> ResourceLabels {
        ResourceLabels {
            resource: self.resource(requested),
        }
    }

    pub fn operation_labels(&self, resource: &str, operation: &str) -> OperationLabels {
        OperationLabels {
            resource: self.resource(resource),
            operation: operation_label(operation).to_owned(),
        }
    }

    /// The labels of an answer: `ok`, or `error` with its code.
    pub fn outcome_labels(
        &self,
        resource: &str,
        operation: &str,
        answer: &Outbound,
    ) -> OutcomeLabels {
        let (outcome, code) = match answer {
            Outbound::Error(error) => ("error", error.code.as_str()),
            _ => ("ok", ""),
        };
        self.refused_labels(resource, operation, outcome, code)
    }

    /// The labels of a request refused with `code` before it reached the pipeline.
    pub fn refusal_labels(
        &self,
        resource: &str,
        operation: &str,
        code: ErrorCode,
    ) -> OutcomeLabels {
        self.refused_labels(resource, operation, "error", code.as_str())
    }

    fn refused_labels(
        &self,
        resource: &str,
        operation: &str,
        outcome: &str,
        code: &str,
    ) -> OutcomeLabels {
        let OperationLabels {
            resource,
            operation,
        } = self.operation_labels(resource, operation);
        OutcomeLabels {
            resource,
            operation,
            outcome: outcome.to_owned(),
            code: code.to_owned(),
        }
    }
}

/// The operation label: a known operation name, or `unknown`.
pub fn operation_label(requested: &str) -> &'static str {
    relay_config::Operation::from_wire(requested).map_or(UNKNOWN, relay_config::Operation::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorMessage;

    fn policy() -> LabelPolicy {
        LabelPolicy::new(["main-pg".to_owned(), "orders".to_owned()])
    }

    #[test]
    fn only_configured_resources_become_labels() {
        assert_eq!(policy().resource("main-pg"), "main-pg");
        assert_eq!(policy().resource("SELECT password FROM users"), UNKNOWN);
        assert_eq!(policy().resource(""), UNKNOWN);
        assert_eq!(
            policy().resources().collect::<Vec<_>>(),
            ["main-pg", "orders"]
        );
    }

    #[test]
    fn only_known_operations_become_labels() {
        for name in ["query", "describe_table", "list_tables", "explain"] {
            assert_eq!(operation_label(name), name);
        }
        assert_eq!(operation_label("drop_database"), UNKNOWN);
        assert_eq!(operation_label("Query"), UNKNOWN);
    }

    #[test]
    fn answers_become_outcome_and_code() {
        let error = Outbound::Error(ErrorMessage {
            id: Some("r1".into()),
            code: ErrorCode::NotReadOnly,
            message: "DELETE FROM secrets WHERE token = 'tok-123'".into(),
        });
        let labels = policy().outcome_labels("orders", "query", &error);
        assert_eq!(labels.outcome, "error");
        assert_eq!(labels.code, "not_read_only");
        assert_eq!(labels.resource, "orders");
        let refused = policy().refusal_labels("nope", "nope", ErrorCode::ShuttingDown);
        assert_eq!(
            (refused.resource.as_str(), refused.operation.as_str()),
            (UNKNOWN, UNKNOWN)
        );
        assert_eq!(refused.code, ErrorCode::ShuttingDown.as_str());
    }
}
