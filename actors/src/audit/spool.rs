//! The spool: audit records the control plane has not acknowledged yet, kept as their JSON lines
//! in memory and in a bounded file (in the relay's private instance directory by default), so
//! neither a control-plane outage nor a relay restart loses them.
//!
//! Bounds: beyond `spoolMaxRecords` the oldest records are dropped and counted; beyond
//! `maxSpoolBytes` nothing more is taken ([`SpoolError::Full`]) and operations are refused until
//! acknowledgements make room. The file is locked (`NAME.lock`) so two relays never share it, and
//! records of another tenant found in it are never sent. Reopening needs no new space: a full file
//! system (ENOSPC) is never fatal at start.

use crate::local_state::{self, FileLock, LockError};
pub use read::peek;
use read::{parse, read_lines, string_field};
pub use relay_audit_chain::read_records;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Acknowledged lines the file may hold before it is compacted (about a megabyte of records).
pub const COMPACT_AFTER_STALE_LINES: usize = 2048;

/// A record waiting for acknowledgement: its chain, its place in it, and its JSON line.
pub struct Pending {
    chain_id: String,
    seq: u64,
    line: String,
}

impl Pending {
    /// A record to spool, given with its JSON line (serialized once by the caller for every sink).
    pub fn new(record: &Map<String, Value>, line: String) -> Self {
        let seq = record
            .get("seq")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        Pending::from_parts(string_field(record, "chainId"), seq, line)
    }

    /// A record to spool, by its chain, seq and JSON line.
    pub fn from_parts(chain_id: String, seq: u64, line: String) -> Self {
        Pending {
            chain_id,
            seq,
            line,
        }
    }

    fn bytes(&self) -> u64 {
        self.line.len() as u64 + 1
    }
}

/// The spool took only the first `taken` records of a batch, for `error`.
#[derive(Debug)]
pub struct Refused {
    pub taken: usize,
    pub error: SpoolError,
}

impl Refused {
    fn all(error: impl Into<SpoolError>) -> Self {
        Refused {
            taken: 0,
            error: error.into(),
        }
    }
}

/// Why the spool took no record.
#[derive(Debug, Error)]
pub enum SpoolError {
    #[error(
        "the audit spool is full: {pending_bytes} bytes of records wait for the control plane \
         to acknowledge them (audit.maxSpoolBytes is {max_bytes})"
    )]
    Full { pending_bytes: u64, max_bytes: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The spool could not be opened.
#[derive(Debug, Error)]
pub enum OpenError {
    /// The private directory that holds it cannot be used.
    #[error(transparent)]
    Directory(#[from] local_state::StateDirError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The bounds of a spool.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_records: usize,
    pub max_bytes: u64,
}

/// Records waiting for acknowledgement.
pub struct Spool {
    path: PathBuf,
    limits: Limits,
    pending: VecDeque<Pending>,
    pending_bytes: u64,
    file: File,
    /// The file's length, as written by this spool.
    file_bytes: u64,
    /// Lines in the file that are no longer pending; the file is compacted when they outnumber
    /// the pending ones and `COMPACT_AFTER_STALE_LINES`, or take a quarter of `max_bytes`, so
    /// acknowledging costs O(1) amortized.
    stale_lines: usize,
    dropped: u64,
    foreign: u64,
    _lock: FileLock,
}

impl Spool {
    /// Opens the spool of `tenant_id`, taking over the records a previous run left
    /// unacknowledged (the newest `max_records` of them). Fails if another relay holds it.
    pub fn open(path: &Path, limits: Limits, tenant_id: &str) -> Result<Self, OpenError> {
        let lock = FileLock::try_acquire(path)?;
        let file = local_state::open_append(path)?;
        let contents = read_lines(&file, tenant_id)?;
        let mut spool = Spool {
            path: path.to_owned(),
            limits,
            pending_bytes: contents.pending.iter().map(Pending::bytes).sum(),
            pending: contents.pending,
            file,
            file_bytes: contents.complete_bytes,
            stale_lines: contents.stale_lines,
            dropped: 0,
            foreign: contents.foreign,
            _lock: lock,
        };
        if contents.complete_bytes != contents.total_bytes {
            // A torn last line (a crash or ENOSPC mid-write): cut it so the next line starts
            // clean. Shrinking needs no space.
            spool.file.set_len(contents.complete_bytes)?;
        }
        spool.drop_beyond_max_records();
        // Best effort: a full file system keeps the file as it is, which is still correct.
        let _ = spool.compact(spool.stale_lines > 0);
        Ok(spool)
    }

    /// Adds a record, given with its JSON line (serialized once by the caller for every sink);
    /// returns how many old records were dropped to make room under `max_records`.
    pub fn push(&mut self, record: Map<String, Value>, line: &str) -> Result<u64, SpoolError> {
        self.push_all(vec![Pending::new(&record, line.to_owned())])
            .map_err(|refused| refused.error)
    }

    /// Adds records in order with one write, as many as fit under `max_bytes` (the rest are
    /// refused as full); returns how many old records were dropped to stay under `max_records`.
    /// A failed write or compaction refuses them all.
    pub fn push_all(&mut self, mut entries: Vec<Pending>) -> Result<u64, Refused> {
        let bytes: u64 = entries.iter().map(Pending::bytes).sum();
        if self.file_bytes + bytes > self.limits.max_bytes && self.stale_lines > 0 {
            self.compact(true).map_err(Refused::all)?;
        }
        let mut room = self.limits.max_bytes.saturating_sub(self.pending_bytes);
        let fits = entries
            .iter()
            .take_while(|entry| match room.checked_sub(entry.bytes()) {
                Some(left) => {
                    room = left;
                    true
                }
                None => false,
            })
            .count();
        let refused = entries.split_off(fits);
        let mut dropped_now = 0;
        if !entries.is_empty() {
            self.append(&lines_of(&entries)).map_err(Refused::all)?;
            self.pending_bytes += entries.iter().map(Pending::bytes).sum::<u64>();
            self.pending.extend(entries);
            dropped_now = self.drop_beyond_max_records();
            self.compact_if_stale().map_err(Refused::all)?;
        }
        if !refused.is_empty() {
            return Err(Refused {
                taken: fits,
                error: self.full(),
            });
        }
        Ok(dropped_now)
    }

    /// Whether a record of `reserve` bytes would still fit.
    pub fn check_room(&self, reserve: u64) -> Result<(), SpoolError> {
        if self.pending_bytes + reserve > self.limits.max_bytes {
            return Err(self.full());
        }
        Ok(())
    }

    /// Bytes the file system holding the spool still grants this relay.
    pub fn free_space(&self) -> io::Result<u64> {
        let stats = rustix::fs::fstatvfs(&self.file)?;
        Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
    }

    fn full(&self) -> SpoolError {
        SpoolError::Full {
            pending_bytes: self.pending_bytes,
            max_bytes: self.limits.max_bytes,
        }
    }

    /// Appends whole lines with one write; on failure the file is cut back, so no torn line is
    /// left behind.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.file_bytes += bytes.len() as u64;
                Ok(())
            }
            Err(err) => {
                let _ = self.file.set_len(self.file_bytes);
                Err(err)
            }
        }
    }

    fn drop_beyond_max_records(&mut self) -> u64 {
        let mut dropped_now = 0;
        while self.pending.len() > self.limits.max_records {
            if let Some(old) = self.pending.pop_front() {
                self.pending_bytes -= old.bytes();
            }
            self.stale_lines += 1;
            dropped_now += 1;
        }
        self.dropped += dropped_now;
        dropped_now
    }

    /// Forgets the records of `chain_id` up to and including `seq` (acknowledgements are
    /// cumulative per chain). The file gets one acknowledgement line, so a restart before the next
    /// compaction does not send those records again; when it cannot be written (a full file
    /// system) the records are forgotten all the same and the error returned for the log.
    pub fn acknowledge(&mut self, chain_id: &str, seq: u64) -> io::Result<()> {
        let before = self.pending.len();
        self.pending
            .retain(|record| !(record.chain_id == chain_id && record.seq <= seq));
        let forgotten = before - self.pending.len();
        if forgotten == 0 {
            return Ok(());
        }
        self.pending_bytes = self.pending.iter().map(Pending::bytes).sum();
        self.stale_lines += forgotten;
        if self.pending.is_empty() {
            return self.compact(true);
        }
        let line = serde_json::json!({"acknowledged": {"chainId": chain_id, "seq": seq}});
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        self.append(&bytes)?;
        self.stale_lines += 1;
        self.compact_if_stale()
    }

    fn compact_if_stale(&mut self) -> io::Result<()> {
        let many_lines = self.stale_lines >= self.pending.len().max(COMPACT_AFTER_STALE_LINES);
        let stale_bytes = self.file_bytes.saturating_sub(self.pending_bytes);
        self.compact(many_lines || stale_bytes > self.limits.max_bytes / 4)
    }

    /// Drops the stale lines from the file when `wanted`. With nothing pending the file is
    /// emptied in place (which needs no space, and may discard blocks, so it is not done for
    /// every acknowledgement); otherwise the pending lines go to a new file renamed over it.
    fn compact(&mut self, wanted: bool) -> io::Result<()> {
        let clean = self.stale_lines == 0 && self.file_bytes == self.pending_bytes;
        if !wanted || clean {
            return Ok(());
        }
        if self.pending.is_empty() {
            // Opened for appending: later writes go to the new end.
            self.file.set_len(0)?;
        } else {
            local_state::replace_file(&self.path, |file| {
                for record in &self.pending {
                    file.write_all(record.line.as_bytes())?;
                    file.write_all(b"\n")?;
                }
                Ok(())
            })?;
            self.file = local_state::open_append(&self.path)?;
        }
        self.file_bytes = self.pending_bytes;
        self.stale_lines = 0;
        Ok(())
    }

    /// The records waiting, oldest first.
    /// The JSON lines of the records waiting, oldest first (each one JSON object).
    pub fn pending_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.pending.iter().map(|record| record.line.clone())
    }

    pub fn pending(&self) -> impl Iterator<Item = Map<String, Value>> + '_ {
        self.pending.iter().filter_map(|record| parse(&record.line))
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Bytes of the records waiting.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Records dropped because the spool was full, since it was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Records of another tenant found in the file when it was opened; they are never sent.
    pub fn foreign(&self) -> u64 {
        self.foreign
    }
}

/// The lines of records, each ending in a newline, as one buffer.
fn lines_of(entries: &[Pending]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.iter().map(Pending::bytes).sum::<u64>() as usize);
    for entry in entries {
        bytes.extend_from_slice(entry.line.as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

#[path = "spool_read.rs"]
mod read;

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
