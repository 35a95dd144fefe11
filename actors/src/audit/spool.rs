//! The spool: audit records the control plane has not acknowledged yet, in memory and mirrored to
//! a bounded file (under `/tmp` by default), so neither a control-plane outage nor a relay restart
//! loses them. When full, the oldest records are dropped and counted.

use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Acknowledged lines the file may hold before it is compacted (about a megabyte of records).
pub const COMPACT_AFTER_STALE_LINES: usize = 2048;

/// Records waiting for acknowledgement.
pub struct Spool {
    path: PathBuf,
    max_records: usize,
    pending: VecDeque<Map<String, Value>>,
    file: File,
    /// Lines in the file that are no longer pending; the file is compacted when they outnumber
    /// the pending ones and `COMPACT_AFTER_STALE_LINES`, so acknowledging costs O(1) amortized.
    stale_lines: usize,
    dropped: u64,
}

impl Spool {
    /// Opens the spool, taking over the records a previous run left unacknowledged (the newest
    /// `max_records` of them).
    pub fn open(path: &Path, max_records: usize) -> io::Result<Self> {
        let mut pending = VecDeque::new();
        for line in read_records(path)? {
            match acknowledgement(&line) {
                Some((chain_id, seq)) => forget_acknowledged(&mut pending, chain_id, seq),
                None => pending.push_back(line),
            }
        }
        let dropped = pending.len().saturating_sub(max_records);
        pending.drain(..dropped);
        let dropped = dropped as u64;
        let file = rewrite(path, &pending)?;
        Ok(Spool {
            path: path.to_owned(),
            max_records,
            pending,
            file,
            stale_lines: 0,
            dropped,
        })
    }

    /// Adds a record, given with its JSON line (serialized once by the caller for every sink);
    /// returns how many old records were dropped to make room.
    pub fn push(&mut self, record: Map<String, Value>, line: &str) -> io::Result<u64> {
        self.file.write_all(format!("{line}\n").as_bytes())?;
        self.pending.push_back(record);
        let mut dropped_now = 0;
        while self.pending.len() > self.max_records {
            self.pending.pop_front();
            self.stale_lines += 1;
            dropped_now += 1;
        }
        self.dropped += dropped_now;
        self.compact_if_stale()?;
        Ok(dropped_now)
    }

    /// Forgets the records of `chain_id` up to and including `seq` (acknowledgements are
    /// cumulative per chain). The file gets one acknowledgement line, so a restart before the next
    /// compaction does not send those records again.
    pub fn acknowledge(&mut self, chain_id: &str, seq: u64) -> io::Result<()> {
        let before = self.pending.len();
        forget_acknowledged(&mut self.pending, chain_id, seq);
        let forgotten = before - self.pending.len();
        if forgotten == 0 {
            return Ok(());
        }
        let line = serde_json::json!({"acknowledged": {"chainId": chain_id, "seq": seq}});
        self.file.write_all(format!("{line}\n").as_bytes())?;
        self.stale_lines += forgotten + 1;
        self.compact_if_stale()
    }

    /// Drops acknowledged lines from the file once they outnumber both the pending ones and
    /// `COMPACT_AFTER_STALE_LINES`: a control plane that acknowledges every few records would
    /// otherwise cost a rewrite (or a truncation, which the file system may turn into a discard
    /// of blocks) per acknowledgement. With nothing pending the file is emptied in place.
    fn compact_if_stale(&mut self) -> io::Result<()> {
        if self.stale_lines < self.pending.len().max(COMPACT_AFTER_STALE_LINES) {
            return Ok(());
        }
        if self.pending.is_empty() {
            // Opened for appending: later writes go to the new end.
            self.file.set_len(0)?;
        } else {
            self.file = rewrite(&self.path, &self.pending)?;
        }
        self.stale_lines = 0;
        Ok(())
    }

    /// The records waiting, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Map<String, Value>> {
        self.pending.iter()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Records dropped because the spool was full, since it was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Drops the records of `chain_id` up to and including `seq`.
fn forget_acknowledged(pending: &mut VecDeque<Map<String, Value>>, chain_id: &str, seq: u64) {
    pending.retain(|record| {
        let same_chain = record.get("chainId").and_then(Value::as_str) == Some(chain_id);
        let covered = record
            .get("seq")
            .and_then(Value::as_u64)
            .is_some_and(|s| s <= seq);
        !(same_chain && covered)
    });
}

/// The chain and sequence number of an acknowledgement line of the spool file.
fn acknowledgement(line: &Map<String, Value>) -> Option<(&str, u64)> {
    let ack = line.get("acknowledged")?;
    Some((ack.get("chainId")?.as_str()?, ack.get("seq")?.as_u64()?))
}

/// The JSON-object lines of a file (a spool, an audit file, a control plane's store), skipping
/// any other line; a missing file has none.
pub fn read_records(path: &Path) -> io::Result<Vec<Map<String, Value>>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut records = Vec::new();
    for line in BufReader::new(file).lines() {
        if let Ok(Value::Object(record)) = serde_json::from_str(&line?) {
            records.push(record);
        }
    }
    Ok(records)
}

/// Writes `records` to a new file beside `path` and moves it into place; returns it for appending.
fn rewrite(path: &Path, records: &VecDeque<Map<String, Value>>) -> io::Result<File> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = io::BufWriter::new(File::create(&temporary)?);
        for record in records {
            serde_json::to_writer(&mut file, record)?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
    }
    fs::rename(&temporary, path)?;
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(chain: &str, seq: u64) -> Map<String, Value> {
        let Value::Object(map) = json!({"chainId": chain, "seq": seq}) else {
            unreachable!()
        };
        map
    }

    fn push(spool: &mut Spool, record: Map<String, Value>) -> u64 {
        let line = serde_json::to_string(&record).unwrap();
        spool.push(record, &line).unwrap()
    }

    fn seqs(spool: &Spool) -> Vec<u64> {
        spool
            .pending()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn acknowledged_records_leave_and_the_rest_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let mut spool = Spool::open(&path, 100).unwrap();
        for seq in 0..10 {
            push(&mut spool, record("a", seq));
        }
        push(&mut spool, record("b", 0));
        spool.acknowledge("a", 6).unwrap();
        assert_eq!(seqs(&spool), vec![7, 8, 9, 0]);
        drop(spool);
        let reopened = Spool::open(&path, 100).unwrap();
        assert_eq!(seqs(&reopened), vec![7, 8, 9, 0]);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let mut spool = Spool::open(&path, 3).unwrap();
        let dropped: u64 = (0..5).map(|seq| push(&mut spool, record("a", seq))).sum();
        assert_eq!((dropped, spool.dropped()), (2, 2));
        assert_eq!(seqs(&spool), vec![2, 3, 4]);
        drop(spool);
        assert_eq!(seqs(&Spool::open(&path, 3).unwrap()), vec![2, 3, 4]);
        let mut smaller = Spool::open(&path, 2).unwrap();
        assert_eq!((seqs(&smaller), smaller.dropped()), (vec![3, 4], 1));
        smaller.acknowledge("a", 4).unwrap();
        assert!(smaller.is_empty());
        drop(smaller);
        assert!(Spool::open(&path, 2).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[test]
    fn acknowledgements_are_remembered_and_the_file_compacted_once_mostly_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let lines = || std::fs::read_to_string(&path).unwrap().lines().count();
        let mut spool = Spool::open(&path, 10_000).unwrap();
        for seq in 0..10 {
            push(&mut spool, record("a", seq));
        }
        spool.acknowledge("a", 4).unwrap();
        // Appended, not rewritten: ten records and one acknowledgement.
        assert_eq!(lines(), 11);
        drop(spool);
        let mut spool = Spool::open(&path, 10_000).unwrap();
        assert_eq!(seqs(&spool), vec![5, 6, 7, 8, 9]);
        for seq in 10..(COMPACT_AFTER_STALE_LINES as u64 + 10) {
            push(&mut spool, record("a", seq));
            spool.acknowledge("a", seq - 3).unwrap();
        }
        assert_eq!(spool.len(), 3);
        assert!(lines() < COMPACT_AFTER_STALE_LINES, "{} lines", lines());
        drop(spool);
        assert_eq!(Spool::open(&path, 10_000).unwrap().len(), 3);
    }
}
