//! Group commit's batch: the records sealed since the auditor last wrote, as the bytes each sink
//! takes in one write, with the operations waiting to hear whether their record was written.

use super::spool::Pending;
use crate::messages::AuditUnavailable;
use tokio::sync::oneshot;

/// Whether a record was written, with its sequence number; an operation waits for it.
pub type Written = Result<u64, AuditUnavailable>;

/// Where a record's result goes: the operation waiting for it, if one is.
pub type Reply = Option<oneshot::Sender<Written>>;

/// A record of the batch, sealed and logged, not yet written to the file or the spool.
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
    /// Their lines for the audit file, each ending in a newline.
    lines: String,
    spool: Vec<Pending>,
    sealed: Vec<Sealed>,
}

impl Batch {
    /// Adds a sealed record (its chain, seq and JSON line).
    pub fn push(&mut self, chain_id: &str, seq: u64, line: String, reply: Reply) {
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

    /// The file's bytes, the spool's entries and the records, in the same order.
    pub fn into_parts(self) -> (String, Vec<Pending>, Vec<Sealed>) {
        (self.lines, self.spool, self.sealed)
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
        batch.push("c", 1, r#"{"seq":1}"#.into(), Some(first_reply));
        batch.push("c", 2, r#"{"seq":2}"#.into(), None);
        batch.push("c", 3, r#"{"seq":3}"#.into(), Some(second_reply));
        let (lines, spool, sealed) = batch.into_parts();
        assert_eq!(lines, "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n");
        assert_eq!(spool.len(), 3);
        let mut sealed = sealed.into_iter();
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
