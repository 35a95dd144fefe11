//! How `relay healthcheck` finds the status file of the relay beside it without being told: the
//! instance directories under the base directory that belong to this user and hold a status file;
//! one is the answer, several are narrowed to the fresh ones whose writer is still running.

use super::{self as status_file, Status, StatusFileError};
use crate::local_state::{base_dir, STATUS_FILE_NAME};
use rustix::process::geteuid;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The status file to judge, or why there is no single one.
pub fn find_status_file(max_age: Duration) -> Result<PathBuf, StatusFileError> {
    find_in(&base_dir(), max_age)
}

/// [`find_status_file`] in the base directory `base`.
pub(crate) fn find_in(base: &Path, max_age: Duration) -> Result<PathBuf, StatusFileError> {
    let candidates = candidates(base);
    match candidates.as_slice() {
        [] => Err(StatusFileError::NotFound {
            base: base.to_owned(),
        }),
        [only] => Ok(only.clone()),
        several => {
            let now = status_file::now_ms();
            let live: Vec<&PathBuf> = several
                .iter()
                .filter(|path| status_file::read(path).is_ok_and(|s| running(&s, now, max_age)))
                .collect();
            match live.as_slice() {
                [only] => Ok((*only).clone()),
                _ => Err(StatusFileError::Ambiguous {
                    candidates: several.to_vec(),
                }),
            }
        }
    }
}

/// Status files in the base directory's subdirectories that belong to this user.
fn candidates(base: &Path) -> Vec<PathBuf> {
    let me = geteuid().as_raw();
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|dir| {
            std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir() && m.uid() == me)
        })
        .map(|dir| dir.join(STATUS_FILE_NAME))
        .filter(|file| {
            std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_file() && m.uid() == me)
        })
        .collect();
    found.sort();
    found
}

/// Fresh, and written by a process that still exists.
fn running(status: &Status, now_ms: u64, max_age: Duration) -> bool {
    let max_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_sub(status.updated_at_ms) <= max_ms
        && Path::new(&format!("/proc/{}", status.pid)).exists()
}
