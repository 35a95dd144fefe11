//! The tamper-evident chain: every record carries `prev` (the hash of the record before it) and
//! `hash` (SHA-256 of its own canonical form), and each start of the relay opens a new chain with
//! a marked genesis record. Sealing and verification are pure and live here.

#![forbid(unsafe_code)]

mod hex;
mod records;

pub use hex::hex;
pub use records::read_records;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// `prev` of a genesis record.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `kind` of the record that opens a chain.
pub const GENESIS_KIND: &str = "genesis";

/// The canonical form of a JSON value: object keys sorted, no whitespace. Hashes are taken over
/// this, so a record re-serialized by any JSON tool still verifies.
pub fn canonical(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Written only by serde_json and ASCII punctuation, so always UTF-8: never copied or changed.
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Keys and scalars are written by serde_json straight into `out`, so a record's hash costs no
/// string per field.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(fields) => write_object(fields, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        // Writing a scalar into memory cannot fail.
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

fn write_object(fields: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = fields.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (index, (key, field)) in entries.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        // A string key always serializes.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        write_canonical(field, out);
    }
    out.push(b'}');
}

/// Hex SHA-256 of a record body's canonical form; the body must not hold `hash` yet.
pub fn record_hash(body: &Map<String, Value>) -> String {
    let mut canonical_form = Vec::with_capacity(1024);
    write_object(body, &mut canonical_form);
    hex(&Sha256::digest(&canonical_form))
}

/// Hex SHA-256 of some bytes (the configuration file's, for `config_loaded`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The chain of one relay start.
pub struct Chain {
    id: String,
    next_seq: u64,
    prev: String,
    /// The canonical form of a record written by [`Chain::seal_written`], kept between records.
    canonical_form: Vec<u8>,
}

/// A record's place in its chain, for a record that writes its own canonical form.
pub struct Link<'a> {
    pub chain_id: &'a str,
    pub seq: u64,
    pub prev: &'a str,
}

impl Chain {
    /// A new chain; its first sealed record should be the genesis record.
    pub fn new(id: String) -> Self {
        Chain {
            id,
            next_seq: 0,
            prev: GENESIS_PREV.to_owned(),
            canonical_form: Vec::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds `chainId`, `seq`, `prev` and `hash` to a record body and advances the chain.
    pub fn seal(&mut self, mut body: Map<String, Value>) -> Map<String, Value> {
        body.insert("chainId".into(), Value::String(self.id.clone()));
        body.insert("seq".into(), Value::from(self.next_seq));
        body.insert("prev".into(), Value::String(self.prev.clone()));
        let hash = record_hash(&body);
        body.insert("hash".into(), Value::String(hash.clone()));
        self.advance(hash);
        body
    }

    /// Moves past the record just sealed with `hash`; its seq.
    fn advance(&mut self, hash: String) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.prev = hash;
        seq
    }

    /// Seals a record of a fixed shape without building it as a map of JSON values.
    /// `write_canonical` must write exactly what [`canonical`] makes of the record with the
    /// link's `chainId`, `seq` and `prev` and without `hash`; `written` then makes what is kept
    /// of the sealed record (its line) from the link and the hash. The chain advances past the
    /// record only once both succeed, so a record that could not be written leaves no gap.
    /// Whoever writes a record this way tests it against [`canonical`] and [`verify`].
    pub fn seal_written<W, E>(
        &mut self,
        write_canonical: impl FnOnce(&Link<'_>, &mut Vec<u8>) -> Result<(), E>,
        written: impl FnOnce(&Link<'_>, &str) -> Result<W, E>,
    ) -> Result<(u64, W), E> {
        let link = Link {
            chain_id: &self.id,
            seq: self.next_seq,
            prev: &self.prev,
        };
        self.canonical_form.clear();
        write_canonical(&link, &mut self.canonical_form)?;
        let hash = hex(&Sha256::digest(&self.canonical_form));
        let record = written(&link, &hash)?;
        Ok((self.advance(hash), record))
    }
}

/// The audit record carried by one line, if it carries one: a relay log line marked
/// `"log":"audit"` (the record is its `record` field), or a bare record (an audit file or the
/// dev control plane's store). Other lines are not audit records.
pub fn record_of_line(line: &str) -> Option<Map<String, Value>> {
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(line.trim()) else {
        return None;
    };
    if fields.get("log").and_then(Value::as_str) == Some("audit") {
        return match fields.remove("record") {
            Some(Value::Object(record)) => Some(record),
            _ => None,
        };
    }
    let bare = ["chainId", "seq", "prev", "hash"]
        .iter()
        .all(|key| fields.contains_key(*key));
    bare.then_some(fields)
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record is intact and in order.
    Intact { records: u64, chains: usize },
    /// The first broken record: its line (1-based), chain, seq and what is wrong.
    Broken {
        line: usize,
        chain: String,
        seq: u64,
        reason: String,
    },
}

/// Verifies records in the order given; lines that are not audit records are skipped.
pub fn verify<I, S>(lines: I) -> Verdict
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut last: HashMap<String, (u64, String)> = HashMap::new();
    let mut records = 0;
    for (index, line) in lines.into_iter().enumerate() {
        let Some(mut record) = record_of_line(line.as_ref()) else {
            continue;
        };
        let hash = record.remove("hash");
        let broken = |chain: &str, seq: u64, reason: &str| Verdict::Broken {
            line: index + 1,
            chain: chain.to_owned(),
            seq,
            reason: reason.to_owned(),
        };
        let chain = record.get("chainId").and_then(Value::as_str).unwrap_or("");
        let seq = record.get("seq").and_then(Value::as_u64);
        let prev = record.get("prev").and_then(Value::as_str);
        let hash = hash.as_ref().and_then(Value::as_str);
        let (Some(seq), Some(prev), Some(hash)) = (seq, prev, hash) else {
            return broken(
                chain,
                0,
                "not a well-formed audit record (chainId, seq, prev, hash)",
            );
        };
        if record_hash(&record) != hash {
            return broken(
                chain,
                seq,
                "edited: the hash does not match the record's contents",
            );
        }
        let genesis = record.get("kind").and_then(Value::as_str) == Some(GENESIS_KIND);
        match last.get(chain) {
            None if !(genesis && seq == 0 && prev == GENESIS_PREV) => {
                return broken(
                    chain,
                    seq,
                    "the chain does not start with its genesis record: earlier records are missing",
                );
            }
            Some((last_seq, _)) if seq <= *last_seq => {
                return broken(
                    chain,
                    seq,
                    &format!("out of order: seq {seq} comes after seq {last_seq}"),
                );
            }
            Some((last_seq, _)) if seq != last_seq + 1 => {
                return broken(
                    chain,
                    seq,
                    &format!("records {} to {} are missing", last_seq + 1, seq - 1),
                );
            }
            Some((_, last_hash)) if prev != last_hash => {
                return broken(
                    chain,
                    seq,
                    "prev does not match the hash of the record before it",
                );
            }
            _ => {}
        }
        last.insert(chain.to_owned(), (seq, hash.to_owned()));
        records += 1;
    }
    Verdict::Intact {
        records,
        chains: last.len(),
    }
}

#[cfg(test)]
mod tests;
