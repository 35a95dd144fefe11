//! What a health check found and how a resource stands after it, as both `relay run` and
//! `relay check --connect` judge it.

use crate::protocol::{HealthStatus, ResourceHealth};
use std::time::Duration;

/// What one health check found.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseHealth {
    pub latency: Duration,
    /// The user holds every privilege (PostgreSQL superuser, MongoDB root or no access control).
    pub superuser: bool,
    /// Why the user could write: empty for a read-only user, `None` when the server would not say.
    pub write_reasons: Option<Vec<String>>,
    /// What else an operator should know (`relay check --connect` prints it).
    pub notes: Vec<String>,
}

/// Why a health check found a resource unhealthy. The text is the reason the resource's health
/// reports, free of credentials.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The resource cannot be served by this build (its TLS settings could not be loaded, say).
    #[error("{0}")]
    Unavailable(String),
    /// The database could not be reached, or refused or failed a step of the check.
    #[error("{0}")]
    Database(String),
    /// The database did not answer within the check's time.
    #[error("no answer to ping in time")]
    TimedOut,
    /// The thread running the check ended without an outcome.
    // Not the panic's message: it may quote catalog text (the relay's log says where).
    #[error("the health check crashed; the relay's log says where")]
    Crashed(#[source] actix_rt::task::JoinError),
}

/// How a resource stands after a health check, as both `relay run` and `relay check --connect`
/// judge it: unhealthy with a reason, or healthy (possibly with a warning that the user could
/// write).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Healthy { write_warning: Option<String> },
    Unhealthy(String),
}

/// The verdict on what a health check found for `spec`.
pub fn verdict(
    spec: &relay_config::Resource,
    outcome: &Result<DatabaseHealth, HealthError>,
) -> Verdict {
    match outcome {
        Err(reason) => Verdict::Unhealthy(reason.to_string()),
        Ok(found) if found.superuser && !spec.allow_privileged_user => Verdict::Unhealthy(
            "database user is a superuser (holds every privilege); use a read-only role or set allowPrivilegedUser: true".into(),
        ),
        Ok(found) => Verdict::Healthy {
            write_warning: found
                .write_reasons
                .as_ref()
                .filter(|reasons| !reasons.is_empty())
                .map(|reasons| reasons.join("; ")),
        },
    }
}

/// Brings `health` up to date with a check's `outcome` at `checked_at`; returns why the user
/// could write when that is newly known (to be logged once, not on every check).
pub fn apply(
    health: &mut ResourceHealth,
    spec: &relay_config::Resource,
    outcome: &Result<DatabaseHealth, HealthError>,
    checked_at: String,
) -> Option<String> {
    let previous_can_write = health.can_write;
    health.last_checked_at = Some(checked_at);
    match outcome {
        Ok(found) => {
            health.latency_ms = Some(found.latency.as_millis() as u64);
            health.can_write = found.write_reasons.as_ref().map(|r| !r.is_empty());
        }
        Err(_) => health.latency_ms = None,
    }
    match verdict(spec, outcome) {
        Verdict::Healthy { write_warning } => {
            health.status = HealthStatus::Healthy;
            health.error = None;
            write_warning.filter(|_| previous_can_write != health.can_write)
        }
        Verdict::Unhealthy(reason) => {
            health.status = HealthStatus::Unhealthy;
            health.error = Some(reason);
            None
        }
    }
}

/// Whether `health` already says the resource is unhealthy for `cause`.
pub fn known_failure(health: &ResourceHealth, cause: &str) -> bool {
    health.status == HealthStatus::Unhealthy && health.error.as_deref() == Some(cause)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec() -> relay_config::Resource {
        let yaml = "controlPlane: {url: 'wss://cp.example.com/c', token: t, tenantId: a}\n\
             resources:\n  - id: m\n    type: mongodb\n    connection: {host: db, database: d}\n";
        relay_config::Config::from_yaml_str(yaml, "test.yaml", &|_| None)
            .unwrap()
            .resources
            .remove(0)
    }

    fn found(write_reasons: Option<Vec<String>>) -> Result<DatabaseHealth, HealthError> {
        Ok(DatabaseHealth {
            latency: Duration::from_millis(3),
            superuser: false,
            write_reasons,
            notes: Vec::new(),
        })
    }

    #[test]
    fn a_write_warning_is_given_once_when_it_becomes_known() {
        let mut health = ResourceHealth::unknown("main", "main");
        let writes = found(Some(vec!["INSERT on t".into()]));
        let warned = apply(&mut health, &spec(), &writes, "t1".into());
        assert_eq!(warned.as_deref(), Some("INSERT on t"));
        assert_eq!(health.status, HealthStatus::Healthy);
        assert_eq!(health.can_write, Some(true));
        assert_eq!(apply(&mut health, &spec(), &writes, "t2".into()), None);
    }

    #[test]
    fn a_failed_check_is_unhealthy_with_its_reason() {
        let mut health = ResourceHealth::unknown("main", "main");
        let failed: Result<DatabaseHealth, HealthError> = Err(HealthError::Database("down".into()));
        assert_eq!(apply(&mut health, &spec(), &failed, "t".into()), None);
        assert_eq!(health.status, HealthStatus::Unhealthy);
        assert!(known_failure(&health, "down"));
        assert!(!known_failure(&health, "other"));
        assert_eq!(health.latency_ms, None);
        apply(&mut health, &spec(), &found(Some(Vec::new())), "t".into());
        assert_eq!(health.status, HealthStatus::Healthy);
        assert_eq!(health.error, None);
    }
}
