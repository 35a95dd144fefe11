//! Reading record files: the JSON-object lines of a spool, an audit file or a control plane's store.

use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

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
