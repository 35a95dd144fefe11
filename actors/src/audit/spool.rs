//! The spool: audit records the control plane has not acknowledged yet, in memory and mirrored to
//! a bounded file (under `/tmp` by default), so neither a control-plane outage nor a relay restart
//! loses them. When full, the oldest records are dropped and counted.

use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Records waiting for acknowledgement.
pub struct Spool {
    path: PathBuf,
    max_records: usize,
    pending: VecDeque<Map<String, Value>>,
    file: File,
    /// Lines in the file that are no longer pending; the file is rewritten when they outnumber
    /// the pending ones, so acknowledging costs O(1) amortized.
    stale_lines: usize,
    dropped: u64,
}

impl Spool {
    /// Opens the spool, taking over the records a previous run left unacknowledged (the newest
    /// `max_records` of them).
    pub fn open(path: &Path, max_records: usize) -> io::Result<Self> {
        let mut pending: VecDeque<_> = read_records(path)?.into();
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
    /// cumulative per chain).
    pub fn acknowledge(&mut self, chain_id: &str, seq: u64) -> io::Result<()> {
        let before = self.pending.len();
        self.pending.retain(|record| {
            let same_chain = record.get("chainId").and_then(Value::as_str) == Some(chain_id);
            let covered = record
                .get("seq")
                .and_then(Value::as_u64)
                .is_some_and(|s| s <= seq);
            !(same_chain && covered)
        });
        self.stale_lines += before - self.pending.len();
        self.compact_if_stale()
    }

    /// Drops acknowledged lines from the file once they outnumber the pending ones. With nothing
    /// pending (the usual case when the control plane acknowledges promptly) the file is emptied
    /// in place, one call instead of a rewrite and rename per acknowledgement.
    fn compact_if_stale(&mut self) -> io::Result<()> {
        if self.stale_lines == 0 || self.stale_lines < self.pending.len() {
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
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
