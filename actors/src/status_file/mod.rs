//! The liveness status file: the running relay rewrites a small JSON document in its instance
//! directory (see [`crate::local_state`]) every few seconds (connected?, the audit trail, each
//! resource's health, when), and `relay healthcheck` judges it. This gives container platforms an
//! exec probe without opening a port. Pure apart from the file I/O.

mod discover;
mod error;

use crate::local_state;
#[cfg(test)]
pub(crate) use discover::find_in;
pub use discover::find_status_file;
pub use error::{StatusFileError, Unhealthy};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the running relay rewrites the file.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// How old the file may be before `relay healthcheck` calls the relay dead: three refreshes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub version: String,
    pub pid: u32,
    /// Milliseconds since the Unix epoch of this write: the heartbeat the probe checks.
    pub updated_at_ms: u64,
    /// Connected to the control plane right now.
    pub connected: bool,
    /// Connected, but standing by while another relay of the tenant serves (not ready).
    #[serde(default)]
    pub standby: bool,
    /// `Relay ready` was reached (connected once, every resource checked once).
    pub ready: bool,
    /// The tenant, to tell relays apart.
    #[serde(default)]
    pub tenant_id: String,
    /// Whether the audit trail can record (operations are refused while it cannot).
    #[serde(default)]
    pub audit: AuditStatus,
    pub resources: Vec<ResourceStatus>,
}

/// The audit trail as of the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditStatus {
    pub available: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Default for AuditStatus {
    fn default() -> Self {
        AuditStatus {
            available: true,
            error: None,
        }
    }
}

/// One resource's health as of the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    pub id: String,
    pub status: String,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Writes the file whole: a sibling temporary file (created with `O_EXCL`, never through a link)
/// renamed over it, so a probe never reads half.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let text = serde_json::to_vec(status).map_err(std::io::Error::other)?;
    local_state::replace_file(path, |file| {
        file.write_all(&text)?;
        file.write_all(b"\n")
    })
}

/// Whether the relay could write its status file at `path`, as [`write`] does (creating the
/// private directory when it is the default one); leaves no file behind. The error is worded as
/// the relay logs it.
pub fn probe(path: &local_state::StatePath) -> Result<(), StatusFileError> {
    path.prepare()?;
    let mut probe = path.path.as_os_str().to_owned();
    probe.push(".check");
    let probe = std::path::PathBuf::from(probe);
    let _ = std::fs::remove_file(&probe);
    local_state::create_new(&probe).map_err(StatusFileError::Unwritable)?;
    std::fs::remove_file(&probe).map_err(StatusFileError::Unwritable)
}

/// Reads a status file (not through a symbolic link, at most [`local_state::READ_LIMIT`] bytes).
pub fn read(path: &Path) -> Result<Status, StatusFileError> {
    let mut text = String::new();
    local_state::open_read(path)
        .and_then(|file| file.take(local_state::READ_LIMIT).read_to_string(&mut text))
        .map_err(|source| StatusFileError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
    serde_json::from_str(&text).map_err(|source| StatusFileError::Malformed {
        path: path.to_owned(),
        source,
    })
}

/// What the probe asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Alive: the file is fresh.
    Live,
    /// Ready: alive, connected to the control plane, and serving (not standing by).
    Ready,
}

/// Reads and judges the file: `Ok` with a one-line summary, or `Err` saying what is wrong.
pub fn check(path: &Path, probe: Probe, max_age: Duration) -> Result<String, StatusFileError> {
    Ok(judge(&read(path)?, probe, now_ms(), max_age)?)
}

/// The verdict on a status read at `now_ms`.
pub fn judge(
    status: &Status,
    probe: Probe,
    now_ms: u64,
    max_age: Duration,
) -> Result<String, Unhealthy> {
    let age_ms = now_ms.saturating_sub(status.updated_at_ms);
    let max_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
    if age_ms > max_ms {
        return Err(Unhealthy::Stale {
            age: Duration::from_millis(age_ms),
            limit: max_age,
        });
    }
    if probe == Probe::Ready && !status.connected {
        return Err(Unhealthy::NotConnected);
    }
    if probe == Probe::Ready && status.standby {
        return Err(Unhealthy::StandingBy);
    }
    if probe == Probe::Ready && !status.audit.available {
        let why = status.audit.error.as_deref().unwrap_or("no reason given");
        return Err(Unhealthy::AuditUnavailable {
            reason: why.to_owned(),
        });
    }
    let unhealthy: Vec<&str> = status
        .resources
        .iter()
        .filter(|resource| resource.status != "healthy")
        .map(|resource| resource.id.as_str())
        .collect();
    let connection = if status.connected && status.standby {
        "connected, standing by"
    } else if status.connected {
        "connected"
    } else {
        "not connected"
    };
    let resources = if unhealthy.is_empty() {
        "all resources healthy".to_owned()
    } else {
        format!("not healthy: {}", unhealthy.join(", "))
    };
    let audit = if status.audit.available {
        ""
    } else {
        ", audit trail unavailable"
    };
    let tenant = if status.tenant_id.is_empty() {
        String::new()
    } else {
        format!(", tenant {}", status.tenant_id)
    };
    Ok(format!(
        "ok: relay {} (pid {}{tenant}), {connection}{audit}, {resources}, updated {} s ago",
        status.version,
        status.pid,
        age_ms / 1000
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn status(connected: bool, updated_at_ms: u64) -> Status {
        Status {
            version: "0.1.0".into(),
            pid: 7,
            updated_at_ms,
            connected,
            standby: false,
            ready: connected,
            tenant_id: "acme".into(),
            audit: AuditStatus::default(),
            resources: vec![
                ResourceStatus {
                    id: "pg".into(),
                    status: "healthy".into(),
                },
                ResourceStatus {
                    id: "mongo".into(),
                    status: "unhealthy".into(),
                },
            ],
        }
    }

    #[test]
    fn fresh_is_alive_and_stale_is_not() {
        let max = Duration::from_secs(30);
        let fine = judge(&status(true, 100_000), Probe::Live, 110_000, max).unwrap();
        assert!(
            fine.contains("connected") && fine.contains("not healthy: mongo"),
            "{fine}"
        );
        let stale = judge(&status(true, 100_000), Probe::Live, 131_000, max).unwrap_err();
        assert!(stale.to_string().contains("stale"), "{stale}");
        // A clock that went backwards is not staleness.
        judge(&status(true, 100_000), Probe::Live, 90_000, max).unwrap();
    }

    #[test]
    fn ready_needs_the_control_plane() {
        let max = Duration::from_secs(30);
        judge(&status(false, 1_000), Probe::Live, 2_000, max).unwrap();
        let err = judge(&status(false, 1_000), Probe::Ready, 2_000, max).unwrap_err();
        assert!(err.to_string().contains("not connected"), "{err}");
        judge(&status(true, 1_000), Probe::Ready, 2_000, max).unwrap();
    }

    #[test]
    fn a_standby_is_alive_but_not_ready() {
        let max = Duration::from_secs(30);
        let standby = Status {
            standby: true,
            ..status(true, 1_000)
        };
        let alive = judge(&standby, Probe::Live, 2_000, max).unwrap();
        assert!(alive.contains("standing by"), "{alive}");
        let err = judge(&standby, Probe::Ready, 2_000, max).unwrap_err();
        assert!(err.to_string().contains("standing by"), "{err}");
    }

    #[test]
    fn ready_needs_the_audit_trail_and_liveness_does_not() {
        let max = Duration::from_secs(30);
        let mut broken = status(true, 1_000);
        broken.audit = AuditStatus {
            available: false,
            error: Some("cannot open audit file /x/a.jsonl: No such file or directory".into()),
        };
        let err = judge(&broken, Probe::Ready, 2_000, max).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("audit trail is unavailable") && err.contains("/x/a.jsonl"),
            "{err}"
        );
        let alive = judge(&broken, Probe::Live, 2_000, max).unwrap();
        assert!(
            alive.contains("audit trail unavailable") && alive.contains("tenant acme"),
            "{alive}"
        );
        // A file written before the audit field existed reads as available.
        let old = r#"{"version":"0.1.0","pid":1,"updatedAtMs":1000,"connected":true,"ready":true,"resources":[]}"#;
        let old: Status = serde_json::from_str(old).unwrap();
        judge(&old, Probe::Ready, 2_000, max).unwrap();
    }

    #[test]
    fn written_files_read_back_and_missing_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let missing = check(&path, Probe::Live, DEFAULT_MAX_AGE).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        write(&path, &status(true, now_ms())).unwrap();
        check(&path, Probe::Ready, DEFAULT_MAX_AGE).unwrap();
        std::fs::write(&path, "{not json").unwrap();
        assert!(check(&path, Probe::Live, DEFAULT_MAX_AGE).is_err());
    }

    #[test]
    fn links_are_never_followed_for_the_file_or_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "precious").unwrap();
        let path = dir.path().join("status.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = check(&path, Probe::Live, DEFAULT_MAX_AGE).unwrap_err();
        assert!(err.to_string().contains("symbolic links"), "{err}");
        // A planted temporary is removed, not written through; the link itself is replaced.
        let temporary = dir.path().join("status.json.tmp");
        std::os::unix::fs::symlink(&target, &temporary).unwrap();
        write(&path, &status(true, now_ms())).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        check(&path, Probe::Live, DEFAULT_MAX_AGE).unwrap();
        assert!(!temporary.exists());
    }
}
