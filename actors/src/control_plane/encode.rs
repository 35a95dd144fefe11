//! Answers encoded for the wire before they reach the control-plane actor: a large result is
//! written out on a blocking thread (at most one per core at once), so the actor thread that
//! routes every request never spends a large answer's encoding time.

use crate::protocol::{encode_outbound, OperationResult, Outbound, ResultRows};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// A result with at least this many rows is encoded off the actor thread; smaller answers cost
/// less to encode than the hop to another thread.
const OFF_THREAD_ROWS: usize = 32;

/// Rows already written as text are copied in on the actor thread below this size: a copy of a
/// megabyte takes about as long as the hop to another thread and back.
const OFF_THREAD_WRITTEN_BYTES: usize = 1 << 20;

/// Bounds the threads encoding at once to one per core, as the masking workers are: more would
/// only queue for the same cores.
static ENCODERS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores)
});

/// An answer as it goes on the wire.
pub struct EncodedAnswer {
    /// The JSON text, or why it could not be written.
    pub text: Result<String, EncodeError>,
    /// Whether it is a `result` (counted in the metrics with its size).
    pub is_result: bool,
}

/// An answer that could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

impl From<serde_json::Error> for EncodeError {
    fn from(err: serde_json::Error) -> Self {
        EncodeError(err.to_string())
    }
}

/// Encodes `message`, a large result on a blocking thread.
pub async fn encode_answer(message: Outbound) -> EncodedAnswer {
    let is_result = matches!(message, Outbound::Result(_));
    let large = match &message {
        Outbound::Result(OperationResult {
            rows: ResultRows::Values(rows),
            ..
        }) => rows.len() >= OFF_THREAD_ROWS,
        // Rows a resource already wrote are only copied in, which costs less than the hop
        // unless they are large.
        Outbound::Result(OperationResult {
            rows: ResultRows::Written(rows),
            ..
        }) => rows.json.len() >= OFF_THREAD_WRITTEN_BYTES,
        _ => false,
    };
    let text = if large {
        encode_off_thread(message).await
    } else {
        encode(&message)
    };
    EncodedAnswer { text, is_result }
}

fn encode(message: &Outbound) -> Result<String, EncodeError> {
    encode_outbound(message).map_err(EncodeError::from)
}

async fn encode_off_thread(message: Outbound) -> Result<String, EncodeError> {
    let permit = ENCODERS
        .acquire()
        .await
        .map_err(|_| EncodeError("the encoders are shut down".into()))?;
    let encoded = actix_rt::task::spawn_blocking(move || encode(&message)).await;
    drop(permit);
    // Not the panic's message, which the log must not carry (the panic hook logs where it was).
    encoded.unwrap_or_else(|_| Err(EncodeError("encoding crashed".into())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::protocol::{MaskedCounts, OperationResult};
    use serde_json::{json, Value};

    fn result_of(rows: usize) -> Outbound {
        Outbound::Result(OperationResult {
            id: "r1".into(),
            columns: Vec::new(),
            rows: ResultRows::Values((0..rows).map(|n| vec![json!(n)]).collect()),
            row_count: rows as u64,
            truncated: false,
            masked: MaskedCounts::default(),
            duration_ms: 1,
            details: None,
        })
    }

    #[actix_rt::test]
    async fn small_and_large_answers_encode_to_the_same_json_as_inline() {
        for rows in [0, 1, OFF_THREAD_ROWS, 1000] {
            let message = result_of(rows);
            let expected = encode_outbound(&message).unwrap();
            let answer = encode_answer(message).await;
            assert!(answer.is_result);
            let text = answer.text.unwrap();
            assert_eq!(text, expected);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed["rows"].as_array().unwrap().len(), rows);
        }
    }
}
