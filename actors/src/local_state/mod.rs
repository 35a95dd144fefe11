//! The relay's private local state: a per-instance directory under `$TMPDIR/relay/` (`/tmp/relay/`
//! in the image), mode 0700, named after the tenant and an instance id, that holds the audit spool
//! and the status file unless `audit.spoolPath` or `RELAY_STATUS_FILE` put them elsewhere. Two
//! relays on one host, of different tenants or instances, never share a file there.
//!
//! The instance id is `RELAY_INSTANCE_ID`, else the host name: the container's or the pod's, so a
//! restarted relay in the same container or pod finds the spool it left behind.

mod files;

pub use files::{
    create_new, open_append, open_read, replace_file, FileLock, LockError, READ_LIMIT,
};

use rustix::process::geteuid;
use sha2::{Digest, Sha256};
use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Names the instance when set (several relays of one tenant on one host).
pub const INSTANCE_ID_VARIABLE: &str = "RELAY_INSTANCE_ID";

/// Moves the status file (the relay's and the probe's).
pub const STATUS_FILE_VARIABLE: &str = "RELAY_STATUS_FILE";

/// The spool's name in the instance directory.
pub const SPOOL_FILE_NAME: &str = "audit-spool.jsonl";

/// The status file's name in the instance directory.
pub const STATUS_FILE_NAME: &str = "status.json";

/// The directory that holds every instance directory: `$TMPDIR/relay`, `/tmp/relay` by default.
pub fn base_dir() -> PathBuf {
    std::env::temp_dir().join("relay")
}

/// `RELAY_INSTANCE_ID`, else the host name, else `localhost`.
pub fn instance_id() -> String {
    let configured = std::env::var(INSTANCE_ID_VARIABLE).ok();
    let host = || {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
    };
    configured
        .filter(|id| !id.trim().is_empty())
        .or_else(host)
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The instance directory's name: the tenant id in safe characters (at most 32), then 16 hex
/// digits of SHA-256 over the tenant and the instance id, so that tenants whose safe forms look
/// alike still differ.
pub fn instance_dir_name(tenant_id: &str, instance_id: &str) -> String {
    let slug: String = tenant_id
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .take(32)
        .collect();
    let slug = slug.trim_start_matches('.');
    let mut digest = Sha256::new();
    digest.update(tenant_id.as_bytes());
    digest.update([0]);
    digest.update(instance_id.as_bytes());
    let hash = relay_audit_chain::hex(&digest.finalize()[..8]);
    format!("{slug}-{hash}")
}

/// This relay's instance directory.
pub fn instance_dir(tenant_id: &str) -> PathBuf {
    base_dir().join(instance_dir_name(tenant_id, &instance_id()))
}

/// A file of the relay's local state, and the private directory to create first when the file
/// lives in the instance directory (a path given by the operator gets no directory created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePath {
    pub path: PathBuf,
    pub private_dir: Option<PathBuf>,
}

impl StatePath {
    /// Creates (or checks) the private directory, when there is one.
    pub fn prepare(&self) -> Result<(), StateDirError> {
        match &self.private_dir {
            Some(dir) => prepare_private_dir(dir),
            None => Ok(()),
        }
    }

    fn in_instance_dir(tenant_id: &str, name: &str) -> StatePath {
        let dir = instance_dir(tenant_id);
        StatePath {
            path: dir.join(name),
            private_dir: Some(dir),
        }
    }

    fn given(path: impl Into<PathBuf>) -> StatePath {
        StatePath {
            path: path.into(),
            private_dir: None,
        }
    }
}

/// The spool: `audit.spoolPath`, else `audit-spool.jsonl` in the instance directory.
pub fn spool_path(configured: Option<&str>, tenant_id: &str) -> StatePath {
    match configured {
        Some(path) => StatePath::given(path),
        None => StatePath::in_instance_dir(tenant_id, SPOOL_FILE_NAME),
    }
}

/// The status file: `RELAY_STATUS_FILE`, else `status.json` in the instance directory.
pub fn status_path(tenant_id: &str) -> StatePath {
    match status_file_from_env() {
        Some(path) => StatePath::given(path),
        None => StatePath::in_instance_dir(tenant_id, STATUS_FILE_NAME),
    }
}

/// `RELAY_STATUS_FILE`, when set and not empty.
pub fn status_file_from_env() -> Option<PathBuf> {
    std::env::var_os(STATUS_FILE_VARIABLE)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The private directory cannot be used.
#[derive(Debug, Error)]
pub enum StateDirError {
    #[error("cannot create the relay's state directory {path}: {source}")]
    Create { path: String, source: io::Error },
    #[error(
        "the relay's state directory {path} is not safe: {why}; remove it, or set \
         audit.spoolPath and RELAY_STATUS_FILE"
    )]
    Unsafe { path: String, why: String },
}

/// Creates `dir` with mode 0700 (and its parent, the base directory, with mode 0700 when it is
/// missing), or checks that the existing ones are real directories that no other user can
/// change: the parent owned by this user or root and, if others may write to it, sticky; the
/// directory itself owned by this user (its mode is set back to 0700).
pub fn prepare_private_dir(dir: &Path) -> Result<(), StateDirError> {
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
        check_shared_parent(parent)?;
    }
    create_dir(dir)?;
    check_own_dir(dir)
}

fn create_dir(dir: &Path) -> Result<(), StateDirError> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Err(err) if err.kind() != io::ErrorKind::AlreadyExists => Err(StateDirError::Create {
            path: dir.display().to_string(),
            source: err,
        }),
        _ => Ok(()),
    }
}

fn unsafe_dir(dir: &Path, why: String) -> StateDirError {
    StateDirError::Unsafe {
        path: dir.display().to_string(),
        why,
    }
}

fn real_dir(dir: &Path) -> Result<std::fs::Metadata, StateDirError> {
    let metadata = std::fs::symlink_metadata(dir).map_err(|source| StateDirError::Create {
        path: dir.display().to_string(),
        source,
    })?;
    if !metadata.file_type().is_dir() {
        return Err(unsafe_dir(dir, "it is not a directory".into()));
    }
    Ok(metadata)
}

fn check_shared_parent(dir: &Path) -> Result<(), StateDirError> {
    let metadata = real_dir(dir)?;
    let me = geteuid().as_raw();
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(unsafe_dir(
            dir,
            format!("it belongs to uid {}", metadata.uid()),
        ));
    }
    let mode = metadata.mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(unsafe_dir(
            dir,
            format!("others may write to it (mode {:o})", mode & 0o7777),
        ));
    }
    Ok(())
}

fn check_own_dir(dir: &Path) -> Result<(), StateDirError> {
    let metadata = real_dir(dir)?;
    let me = geteuid().as_raw();
    if metadata.uid() != me {
        return Err(unsafe_dir(
            dir,
            format!("it belongs to uid {}, not {me}", metadata.uid()),
        ));
    }
    if metadata.mode() & 0o7777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |source| StateDirError::Create {
                path: dir.display().to_string(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
