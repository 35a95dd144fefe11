//! Noticing that the configuration file or the token file changed, by a content hash of the
//! configuration and the identity of the token file, looked at every [`WATCH_INTERVAL`].
//!
//! Polling, rather than file-system events, because Kubernetes updates ConfigMap and Secret
//! volumes by swapping a `..data` symlink to a new directory: the watched paths never change
//! themselves, so an event watch on them misses the update unless it also follows the parent
//! directories and their symlinks. Reading what the path resolves to sees every kind of update
//! (in place, rename over, symlink swap) the same way, at the cost of one small read per interval.

use relay_audit_chain::sha256_hex;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the files are looked at; a change takes effect within about this long.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// What identifies one version of the token file, without reading (or hashing) the secret: the
/// file a symlink chain ends at, its inode, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    resolved: PathBuf,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        resolved: std::fs::canonicalize(path).ok()?,
        inode: metadata.ino(),
        len: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

/// The state of the watched files at one look.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    /// SHA-256 of the configuration file, `None` while it cannot be read.
    config: Option<String>,
    token: Option<FileStamp>,
}

/// The configuration file and the token file it names, and how they looked last.
pub struct ConfigWatch {
    config: PathBuf,
    token_file: Option<PathBuf>,
    last: Fingerprint,
}

impl ConfigWatch {
    /// Starts from how the files look now.
    pub fn new(config: PathBuf, token_file: Option<PathBuf>) -> Self {
        let last = fingerprint(&config, token_file.as_deref());
        ConfigWatch {
            config,
            token_file,
            last,
        }
    }

    /// Whether either file changed since the last look (or since [`ConfigWatch::settle`]). A
    /// file that cannot be read counts as changed once, so the reload names the problem.
    pub fn changed(&mut self) -> bool {
        let now = fingerprint(&self.config, self.token_file.as_deref());
        let changed = now != self.last;
        self.last = now;
        changed
    }

    /// After a reload: watches the token file the configuration in effect names. A new one is
    /// taken as seen (the reload just read it); a change to the configuration file since the
    /// last look is still reported by the next [`ConfigWatch::changed`].
    pub fn settle(&mut self, token_file: Option<PathBuf>) {
        if token_file != self.token_file {
            self.last.token = token_file.as_deref().and_then(stamp);
            self.token_file = token_file;
        }
    }
}

fn fingerprint(config: &Path, token_file: Option<&Path>) -> Fingerprint {
    Fingerprint {
        config: std::fs::read(config).ok().map(|bytes| sha256_hex(&bytes)),
        token: token_file.and_then(stamp),
    }
}

#[cfg(test)]
#[path = "config_watch_tests.rs"]
mod tests;
