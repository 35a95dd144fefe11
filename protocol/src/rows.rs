//! The rows of a `result`: JSON values, or the rows array's JSON text as the relay already wrote it.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A result's rows, each an array of cells. On the wire both forms are the same array.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultRows {
    Values(Vec<Vec<Value>>),
    /// The rows array as JSON text, written as the rows were decoded (and masked), so a large
    /// answer is not held as values and serialized again.
    Written(WrittenRowsJson),
}

/// The JSON text of a rows array and how many rows it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenRowsJson {
    /// `[[cell, ...], ...]`: an array of arrays, as `serde_json` writes `Vec<Vec<Value>>`.
    pub json: String,
    pub count: usize,
}

impl ResultRows {
    pub fn len(&self) -> usize {
        match self {
            ResultRows::Values(rows) => rows.len(),
            ResultRows::Written(written) => written.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows as values: written rows are parsed back (for tests and tools, not the answer path).
    pub fn to_values(&self) -> Result<Vec<Vec<Value>>, serde_json::Error> {
        match self {
            ResultRows::Values(rows) => Ok(rows.clone()),
            ResultRows::Written(written) => serde_json::from_str(&written.json),
        }
    }
}

impl Default for ResultRows {
    fn default() -> Self {
        ResultRows::Values(Vec::new())
    }
}

impl From<Vec<Vec<Value>>> for ResultRows {
    fn from(rows: Vec<Vec<Value>>) -> Self {
        ResultRows::Values(rows)
    }
}

/// Written rows go out as their text. `encode_outbound` splices that text in without this
/// (which checks it is JSON first); this serves any other serializer.
impl Serialize for ResultRows {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResultRows::Values(rows) => rows.serialize(serializer),
            ResultRows::Written(written) => RawValue::from_string(written.json.clone())
                .map_err(S::Error::custom)?
                .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResultRows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Vec<Value>>::deserialize(deserializer).map(ResultRows::Values)
    }
}
