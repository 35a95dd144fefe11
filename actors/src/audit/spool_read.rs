//! Reading a spool file: this tenant's records that no later line acknowledges, where the last
//! complete line ends, and the plain JSON-object lines of any audit file.

use super::Pending;
use crate::local_state;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// What a spool file held.
pub(super) struct Contents {
    pub(super) pending: VecDeque<Pending>,
    pub(super) stale_lines: usize,
    pub(super) foreign: u64,
    /// Bytes up to the end of the last complete line.
    pub(super) complete_bytes: u64,
    pub(super) total_bytes: u64,
}

/// Reads the lines of a spool file: this tenant's records not acknowledged later in the file.
pub(super) fn read_lines(file: &File, tenant_id: &str) -> io::Result<Contents> {
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
    // The line parsed as JSON, so it is UTF-8.
    let line = String::from_utf8_lossy(line).into_owned();
    contents.pending.push_back(Pending::new(&record, line));
}

pub(super) fn string_field(record: &Map<String, Value>, key: &str) -> String {
    record
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn parse(line: &str) -> Option<Map<String, Value>> {
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
