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
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Acknowledged lines the file may hold before it is compacted (about a megabyte of records).
pub const COMPACT_AFTER_STALE_LINES: usize = 2048;

/// A record waiting for acknowledgement: its chain, its place in it, and its JSON line.
struct Pending {
    chain_id: String,
    seq: u64,
    line: String,
}

impl Pending {
    fn bytes(&self) -> u64 {
        self.line.len() as u64 + 1
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
        let entry = Pending {
            chain_id: string_field(&record, "chainId"),
            seq: record
                .get("seq")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            line: line.to_owned(),
        };
        if self.file_bytes + entry.bytes() > self.limits.max_bytes && self.stale_lines > 0 {
            self.compact(true)?;
        }
        if self.pending_bytes + entry.bytes() > self.limits.max_bytes {
            return Err(self.full());
        }
        self.append(&entry.line)?;
        self.pending_bytes += entry.bytes();
        self.pending.push_back(entry);
        let dropped_now = self.drop_beyond_max_records();
        self.compact_if_stale()?;
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

    /// Appends one line; on failure the file is cut back, so no torn line is left behind.
    fn append(&mut self, line: &str) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match self.file.write_all(&bytes) {
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
        self.append(&line.to_string())?;
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

/// What a spool file held.
struct Contents {
    pending: VecDeque<Pending>,
    stale_lines: usize,
    foreign: u64,
    /// Bytes up to the end of the last complete line.
    complete_bytes: u64,
    total_bytes: u64,
}

/// Reads the lines of a spool file: this tenant's records not acknowledged later in the file.
fn read_lines(file: &File, tenant_id: &str) -> io::Result<Contents> {
    let mut contents = Contents {
        pending: VecDeque::new(),
        stale_lines: 0,
        foreign: 0,
        complete_bytes: 0,
        total_bytes: 0,
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(contents);
        }
        contents.total_bytes += read as u64;
        if line.last() != Some(&b'\n') {
            return Ok(contents);
        }
        contents.complete_bytes = contents.total_bytes;
        take_line(&mut contents, &line[..line.len() - 1], tenant_id);
    }
}

fn take_line(contents: &mut Contents, line: &[u8], tenant_id: &str) {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(line) else {
        contents.stale_lines += 1;
        return;
    };
    if let Some((chain_id, seq)) = acknowledgement(&record) {
        let before = contents.pending.len();
        contents
            .pending
            .retain(|p| !(p.chain_id == chain_id && p.seq <= seq));
        contents.stale_lines += 1 + before - contents.pending.len();
        return;
    }
    if record.get("tenantId").and_then(Value::as_str) != Some(tenant_id) {
        contents.foreign += 1;
        contents.stale_lines += 1;
        return;
    }
    contents.pending.push_back(Pending {
        chain_id: string_field(&record, "chainId"),
        seq: record
            .get("seq")
            .and_then(Value::as_u64)
            .unwrap_or_default(),
        // The line parsed as JSON, so it is UTF-8.
        line: String::from_utf8_lossy(line).into_owned(),
    });
}

fn string_field(record: &Map<String, Value>, key: &str) -> String {
    record
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn parse(line: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(line) {
        Ok(Value::Object(record)) => Some(record),
        _ => None,
    }
}

/// The chain and sequence number of an acknowledgement line of the spool file.
fn acknowledgement(line: &Map<String, Value>) -> Option<(String, u64)> {
    let ack = line.get("acknowledged")?;
    Some((
        ack.get("chainId")?.as_str()?.to_owned(),
        ack.get("seq")?.as_u64()?,
    ))
}

/// What a restart of `tenant_id`'s relay would take over from the spool at `path`, read without
/// taking its lock (for inspection and tests).
pub fn peek(path: &Path, tenant_id: &str) -> io::Result<Vec<Map<String, Value>>> {
    let file = match local_state::open_read(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let contents = read_lines(&file, tenant_id)?;
    Ok(contents
        .pending
        .iter()
        .filter_map(|p| parse(&p.line))
        .collect())
}

pub use relay_audit_chain::read_records;

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
