//! The liveness status file: the running relay rewrites a small JSON document under `/tmp` every
//! few seconds (connected?, each resource's health, when), and `relay healthcheck` judges it. This
//! gives container platforms an exec probe without opening a port. Pure apart from the file I/O.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the file lives unless `RELAY_STATUS_FILE` says otherwise (`/tmp` is the one writable place
/// in the hardened container).
pub const DEFAULT_PATH: &str = "/tmp/relay-status.json";

/// How often the running relay rewrites the file.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// How old the file may be before `relay healthcheck` calls the relay dead: three refreshes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);

/// The file's path: `RELAY_STATUS_FILE`, else [`DEFAULT_PATH`].
pub fn path_from_env() -> PathBuf {
    std::env::var_os("RELAY_STATUS_FILE")
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_PATH), PathBuf::from)
}

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
    /// `Relay ready` was reached (connected once, every resource checked once).
    pub ready: bool,
    pub resources: Vec<ResourceStatus>,
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

/// Writes the file whole: a sibling temporary file renamed over it, so a probe never reads half.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let text = serde_json::to_vec(status).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(&text)?;
    file.write_all(b"\n")?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// What the probe asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Alive: the file is fresh.
    Live,
    /// Ready: alive, and connected to the control plane.
    Ready,
}

/// Reads and judges the file: `Ok` with a one-line summary, or `Err` saying what is wrong.
pub fn check(path: &Path, probe: Probe, max_age: Duration) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read status file {}: {err}", path.display()))?;
    let status: Status = serde_json::from_str(&text)
        .map_err(|err| format!("status file {} is not valid: {err}", path.display()))?;
    judge(&status, probe, now_ms(), max_age)
}

/// The verdict on a status read at `now_ms`.
pub fn judge(
    status: &Status,
    probe: Probe,
    now_ms: u64,
    max_age: Duration,
) -> Result<String, String> {
    let age_ms = now_ms.saturating_sub(status.updated_at_ms);
    let max_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
    if age_ms > max_ms {
        return Err(format!(
            "status is stale: last written {} s ago (limit {} s); the relay is hung or gone",
            age_ms / 1000,
            max_age.as_secs()
        ));
    }
    if probe == Probe::Ready && !status.connected {
        return Err("not connected to the control plane".to_owned());
    }
    let unhealthy: Vec<&str> = status
        .resources
        .iter()
        .filter(|resource| resource.status != "healthy")
        .map(|resource| resource.id.as_str())
        .collect();
    let connection = if status.connected {
        "connected"
    } else {
        "not connected"
    };
    let resources = if unhealthy.is_empty() {
        "all resources healthy".to_owned()
    } else {
        format!("not healthy: {}", unhealthy.join(", "))
    };
    Ok(format!(
        "ok: relay {} (pid {}), {connection}, {resources}, updated {} s ago",
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
            ready: connected,
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
        assert!(stale.contains("stale"), "{stale}");
        // A clock that went backwards is not staleness.
        judge(&status(true, 100_000), Probe::Live, 90_000, max).unwrap();
    }

    #[test]
    fn ready_needs_the_control_plane() {
        let max = Duration::from_secs(30);
        judge(&status(false, 1_000), Probe::Live, 2_000, max).unwrap();
        let err = judge(&status(false, 1_000), Probe::Ready, 2_000, max).unwrap_err();
        assert!(err.contains("not connected"), "{err}");
        judge(&status(true, 1_000), Probe::Ready, 2_000, max).unwrap();
    }

    #[test]
    fn written_files_read_back_and_missing_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let missing = check(&path, Probe::Live, DEFAULT_MAX_AGE).unwrap_err();
        assert!(missing.contains("cannot read"), "{missing}");
        write(&path, &status(true, now_ms())).unwrap();
        check(&path, Probe::Ready, DEFAULT_MAX_AGE).unwrap();
        std::fs::write(&path, "{not json").unwrap();
        assert!(check(&path, Probe::Live, DEFAULT_MAX_AGE).is_err());
    }
}
