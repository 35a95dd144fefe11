//! The dev control plane's store of audit records: each record once, in chain order, acknowledged
//! cumulatively per chain; optionally kept in a file so it survives the dev control plane's own
//! restarts (and can be checked with `relay audit verify`).

use relay_audit_chain::read_records;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Every audit record received, in order.
#[derive(Default)]
pub struct AuditStore {
    records: Vec<Value>,
    /// Per chain: the next seq expected.
    next_seq: HashMap<String, u64>,
    file: Option<File>,
}

impl AuditStore {
    /// A store in memory, or backed by `path` (its records are loaded first).
    pub fn open(path: Option<&Path>) -> io::Result<Self> {
        let mut store = AuditStore::default();
        let Some(path) = path else {
            return Ok(store);
        };
        for record in read_records(path)? {
            store.accept(record);
        }
        store.file = Some(OpenOptions::new().create(true).append(true).open(path)?);
        Ok(store)
    }

    /// Takes one record; returns the acknowledgement to send (`chainId`, highest seq stored).
    /// Repeats are ignored; a record after a gap waits for the missing ones to be resent, except
    /// at the start of a chain the relay had to drop from its full spool.
    pub fn receive(&mut self, record: Map<String, Value>) -> io::Result<Option<(String, u64)>> {
        let line = serde_json::to_string(&record)?;
        let Some((chain, stored)) = self.accept(record) else {
            return Ok(None);
        };
        if stored {
            if let Some(file) = self.file.as_mut() {
                writeln!(file, "{line}")?;
                file.flush()?;
            }
        }
        let acked = self.next_seq.get(&chain).map(|next| next.saturating_sub(1));
        Ok(acked.map(|seq| (chain, seq)))
    }

    /// Stores a record if it is the next of its chain; returns its chain and whether it was new.
    fn accept(&mut self, record: Map<String, Value>) -> Option<(String, bool)> {
        let chain = record.get("chainId")?.as_str()?.to_owned();
        let seq = record.get("seq")?.as_u64()?;
        let next = self.next_seq.get(&chain).copied();
        let take = match next {
            None => true,
            Some(next) => seq == next,
        };
        if take {
            self.next_seq.insert(chain.clone(), seq + 1);
            self.records.push(Value::Object(record));
        }
        if next.is_some_and(|next| seq > next) {
            return None;
        }
        Some((chain, take))
    }

    pub fn records(&self) -> &[Value] {
        &self.records
    }
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

    #[test]
    fn each_record_is_stored_once_in_order_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut store = AuditStore::open(Some(&path)).unwrap();
        assert_eq!(
            store.receive(record("a", 0)).unwrap(),
            Some(("a".into(), 0))
        );
        assert_eq!(
            store.receive(record("a", 1)).unwrap(),
            Some(("a".into(), 1))
        );
        assert_eq!(
            store.receive(record("a", 1)).unwrap(),
            Some(("a".into(), 1)),
            "a repeat is acknowledged again"
        );
        assert_eq!(store.receive(record("a", 3)).unwrap(), None, "a gap waits");
        drop(store);
        let mut store = AuditStore::open(Some(&path)).unwrap();
        assert_eq!(store.records().len(), 2);
        assert_eq!(
            store.receive(record("a", 2)).unwrap(),
            Some(("a".into(), 2))
        );
        assert_eq!(
            store.receive(record("b", 5)).unwrap(),
            Some(("b".into(), 5))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    }
}
