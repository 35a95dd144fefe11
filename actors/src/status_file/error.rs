//! What can be wrong with the status file: it cannot be written, found, read or parsed, or what
//! it says makes the relay unhealthy. Each is worded as `relay healthcheck` and `relay check`
//! print it.

use crate::local_state::StateDirError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// The status file cannot be written, found or read, or the relay it describes is unhealthy.
#[derive(Debug, Error)]
pub enum StatusFileError {
    /// The private directory that would hold the file cannot be used.
    #[error(transparent)]
    Directory(#[from] StateDirError),
    /// A file cannot be created or removed where the status file would be written.
    #[error(transparent)]
    Unwritable(io::Error),
    /// No status file in any instance directory of this user.
    #[error(
        "no status file in {}/*/ (is the relay running in this container? If it runs with \
         RELAY_STATUS_FILE, give the probe the same variable or --status-file)",
        base.display()
    )]
    NotFound { base: PathBuf },
    /// Several running relays keep status files, and none was chosen.
    #[error(
        "several relays keep status files here ({}); choose one with --status-file or \
         RELAY_STATUS_FILE",
        joined(candidates)
    )]
    Ambiguous { candidates: Vec<PathBuf> },
    #[error("cannot read status file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("status file {} is not valid: {source}", path.display())]
    Malformed {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The file was read, and what it says fails the probe.
    #[error(transparent)]
    Unhealthy(#[from] Unhealthy),
}

/// Why a status that was read fails the probe.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unhealthy {
    /// Not rewritten within the allowed age (whole seconds, as printed).
    #[error(
        "status is stale: last written {} s ago (limit {} s); the relay is hung or gone",
        age.as_secs(),
        limit.as_secs()
    )]
    Stale { age: Duration, limit: Duration },
    #[error("not connected to the control plane")]
    NotConnected,
    #[error(
        "standing by: another relay of this tenant is active; this one takes over when it goes"
    )]
    StandingBy,
    #[error("the audit trail is unavailable, so operations are refused: {reason}")]
    AuditUnavailable { reason: String },
}

fn joined(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
