//! Opening the relay's files without following symbolic links: appends (`O_NOFOLLOW`, mode
//! 0600), new temporary files (`O_EXCL`), whole-file replacement by rename, and the exclusive
//! lock that keeps a second relay off a spool.

use rustix::fs::{flock, FlockOperation, OFlags};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Files the relay reads back (status files, lock files) are read up to this many bytes.
pub const READ_LIMIT: u64 = 1 << 20;

fn no_follow() -> i32 {
    // The flag is a small positive constant; the cast cannot change it.
    (OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32
}

/// Opens `path` for reading and appending, creating it (mode 0600) when missing; a symbolic link
/// at `path` is refused (`Too many levels of symbolic links`).
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(path)
}

/// Opens an existing file for reading, refusing a symbolic link.
pub fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(no_follow())
        .open(path)
}

/// Creates a new file (mode 0600); fails if anything, even a dangling link, is at `path`.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(path)
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the file at `path` whole: `fill` writes a new sibling (`NAME.tmp`, created with
/// `O_EXCL` after removing a leftover one), which is synced and renamed over `path`, so a reader
/// or a crash sees the old file or the new one, never half of one.
pub fn replace_file(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>,
) -> io::Result<()> {
    let temporary = sibling(path, ".tmp");
    match std::fs::remove_file(&temporary) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let file = create_new(&temporary)?;
    let written = (|| {
        let mut writer = io::BufWriter::new(&file);
        fill(&mut writer)?;
        writer.flush()?;
        drop(writer);
        file.sync_data()
    })();
    if let Err(err) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok(())
}

/// The spool could not be locked for this relay.
#[derive(Debug, Error)]
pub enum LockError {
    #[error("it is in use by another relay{}", holder(.pid))]
    InUse { pid: Option<u32> },
    #[error("cannot lock it: {0}")]
    Io(#[from] io::Error),
}

fn holder(pid: &Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

/// An exclusive advisory lock (`flock`) on `NAME.lock` beside a file, holding the owner's pid;
/// released when dropped or when the process ends, however it ends.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// The lock file of `path`.
    pub fn path_for(path: &Path) -> PathBuf {
        sibling(path, ".lock")
    }

    /// Takes the lock of `path` without waiting.
    pub fn try_acquire(path: &Path) -> Result<FileLock, LockError> {
        let lock_path = Self::path_for(path);
        let mut file = open_append(&lock_path)?;
        if let Err(err) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
            if err == rustix::io::Errno::WOULDBLOCK {
                return Err(LockError::InUse {
                    pid: read_pid(&mut file),
                });
            }
            return Err(LockError::Io(err.into()));
        }
        file.set_len(0)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(FileLock { _file: file })
    }

    /// Whether another process holds the lock of `path` (taking and releasing it at once);
    /// a lock file that cannot be opened says nothing, so it is not an error here.
    pub fn held_by_other(path: &Path) -> Option<LockError> {
        match Self::try_acquire(path) {
            Err(busy @ LockError::InUse { .. }) => Some(busy),
            _ => None,
        }
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    Read::by_ref(file).take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
