//! Group commit's batch: the records sealed since the auditor last wrote, as the bytes each sink
//! (stdout, the file, the spool) takes in one write, with the operations waiting to hear whether
//! their record was written.

use super::spool::Pending;
use crate::messages::AuditUnavailable;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

/// Whether a record was written, with its sequence number; an operation waits for it.
pub type Written = Result<u64, AuditUnavailable>;

/// Where a record's result goes: the operation waiting for it, if one is.
pub type Reply = Option<oneshot::Sender<Written>>;

/// A record's line as stdout takes it: the sealed record, logged as a warning when alarming.
pub struct Logged {
    pub record: Box<RawValue>,
    pub alarming: bool,
}

/// A record of the batch, sealed, not yet written to stdout, the file or the spool.
pub struct Sealed {
    seq: u64,
    /// The record's JSON line, for the control plane.
    line: String,
    reply: Reply,
}

impl Sealed {
    /// Tells the waiting operation its record was written; returns its line (to forward).
    pub fn written(self) -> String {
        if let Some(reply) = self.reply {
            // An operation that stopped waiting (a timeout) needs no answer.
            let _ = reply.send(Ok(self.seq));
        }
        self.line
    }

    /// Tells the waiting operation its record could not be written, and why.
    pub fn failed(self, reason: &str) {
        if let Some(reply) = self.reply {
            let _ = reply.send(Err(AuditUnavailable(reason.to_owned())));
        }
    }
}

/// The records waiting for the next write, in chain order.
#[derive(Default)]
pub struct Batch {
    logged: Vec<Logged>,
    /// Their lines for the audit file, each ending in a newline.
    lines: String,
    spool: Vec<Pending>,
    sealed: Vec<Sealed>,
}

/// A batch taken apart for writing: what each sink takes, and the records, in the same order.
pub struct Parts {
    pub logged: Vec<Logged>,
    pub lines: String,
    pub spool: Vec<Pending>,
    pub sealed: Vec<Sealed>,
}

impl Batch {
    /// Adds a sealed record (its chain, seq and JSON text).
    pub fn push(
        &mut self,
        chain_id: &str,
        seq: u64,
        record: Box<RawValue>,
        alarming: bool,
        reply: Reply,
    ) {
        let line = record.get().to_owned();
        self.logged.push(Logged { record, alarming });
        self.lines.push_str(&line);
        self.lines.push('\n');
        self.sealed.push(Sealed {
            seq,
            line: line.clone(),
            reply,
        });
        self.spool
            .push(Pending::from_parts(chain_id.to_owned(), seq, line));
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty()
    }

    pub fn into_parts(self) -> Parts {
        Parts {
            logged: self.logged,
            lines: self.lines,
            spool: self.spool,
            sealed: self.sealed,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_batch_keeps_chain_order_and_answers_each_record() {
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        let (first_reply, mut first) = oneshot::channel();
        let (second_reply, mut second) = oneshot::channel();
        let raw = |text: &str| RawValue::from_string(text.to_owned()).unwrap();
        batch.push("c", 1, raw(r#"{"seq":1}"#), false, Some(first_reply));
        batch.push("c", 2, raw(r#"{"seq":2}"#), true, None);
        batch.push("c", 3, raw(r#"{"seq":3}"#), false, Some(second_reply));
        let parts = batch.into_parts();
        assert_eq!(parts.lines, "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n");
        assert_eq!(parts.spool.len(), 3);
        let logged: Vec<(&str, bool)> = parts
            .logged
            .iter()
            .map(|logged| (logged.record.get(), logged.alarming))
            .collect();
        assert_eq!(
            logged,
            [
                (r#"{"seq":1}"#, false),
                (r#"{"seq":2}"#, true),
                (r#"{"seq":3}"#, false)
            ]
        );
        let mut sealed = parts.sealed.into_iter();
        let forwarded = sealed.next().unwrap().written();
        assert_eq!(forwarded, r#"{"seq":1}"#);
        sealed.next().unwrap().failed("disk full");
        sealed.next().unwrap().failed("disk full");
        assert_eq!(first.try_recv().unwrap(), Ok(1));
        assert_eq!(
            second.try_recv().unwrap(),
            Err(AuditUnavailable("disk full".into()))
        );
    }
}
