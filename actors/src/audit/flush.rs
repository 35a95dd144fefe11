//! Group commit: the records sealed while the auditor works through its mailbox are written
//! together, with one write to stdout, one to the audit file and one to the spool, and every
//! operation among them is answered only once those writes are known. Waiting for the mailbox to
//! be worked through adds no latency: the flush runs in the same turn of the event loop, right
//! after it.

use super::batch::{Logged, Parts, Reply, Sealed};
use super::Auditor;
use crate::log_event::{AUDIT_TAG, AUDIT_TAG_MORE};
use crate::messages::{AuditUnavailable, ForwardAudit};
use actix::{fut, ActorFutureExt, AsyncContext, Context};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};
use slog::{info, warn};

impl Auditor {
    /// Seals a body into the chain and adds it to the batch the next flush writes to stdout, the
    /// file and the spool; refused while the trail is unavailable.
    pub(super) fn enqueue(
        &mut self,
        body: Map<String, Value>,
        alarming: bool,
        reply: Reply,
    ) -> Result<(), AuditUnavailable> {
        self.available()?;
        let record = self.chain.seal(body);
        let seq = record
            .get("seq")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        // A map of JSON values always serializes.
        let line = to_raw_value(&record).map_err(|_| super::unserialized())?;
        self.add_sealed(seq, line, alarming, reply);
        Ok(())
    }

    /// Refuses records while the trail is unavailable.
    pub(super) fn available(&self) -> Result<(), AuditUnavailable> {
        match &self.failure {
            Some(reason) => Err(AuditUnavailable(reason.clone())),
            None => Ok(()),
        }
    }

    /// Adds a sealed record to the batch. It was serialized once, for every sink: stdout takes
    /// the same text, unparsed, when the batch is written.
    pub(super) fn add_sealed(
        &mut self,
        seq: u64,
        raw: Box<RawValue>,
        alarming: bool,
        reply: Reply,
    ) {
        self.batch.push(self.chain.id(), seq, raw, alarming, reply);
    }

    /// Seals a body and writes it at once, with the records already waiting before it.
    pub(super) fn write_now(
        &mut self,
        body: Map<String, Value>,
        alarming: bool,
    ) -> Result<(), AuditUnavailable> {
        self.enqueue(body, alarming, None)?;
        self.flush_batch()
    }

    /// Flushes the batch after the messages already in the mailbox, so that their records join it.
    pub(super) fn schedule_flush(&mut self, ctx: &mut Context<Self>) {
        if self.flush_scheduled {
            return;
        }
        self.flush_scheduled = true;
        ctx.spawn(fut::ready(()).map(|(), auditor: &mut Self, _ctx| {
            auditor.flush_scheduled = false;
            // Each operation hears of a failure through its own answer.
            let _ = auditor.flush_batch();
        }));
    }

    /// Writes the batch to stdout, then to the file, then to the spool, and answers each record.
    /// A failed write fails every record of the batch (a full spool: those that did not fit).
    pub(super) fn flush_batch(&mut self) -> Result<(), AuditUnavailable> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        let Parts {
            logged,
            lines,
            spool,
            sealed,
        } = batch.into_parts();
        self.log_records(logged);
        let written = self
            .sinks
            .write_file(&lines)
            .map_err(|reason| (0, reason.to_string()))
            .and_then(|()| self.sinks.push_spool(spool));
        let (spooled, taken, failure) = match written {
            Ok(spooled) => (spooled.is_some(), sealed.len(), None),
            Err((taken, reason)) => (true, taken, Some(reason)),
        };
        let mut sealed = sealed.into_iter();
        for record in sealed.by_ref().take(taken) {
            self.written(record, spooled);
        }
        let Some(reason) = failure else {
            self.publish_metrics();
            self.report_drops();
            return Ok(());
        };
        for record in sealed {
            record.failed(&reason);
        }
        self.update_failure();
        self.publish_metrics();
        Err(AuditUnavailable(reason))
    }

    /// Logs the batch's records on stdout, in chain order. Every line but the last says that more
    /// follow, so the stdout drain writes them all with one write.
    fn log_records(&self, logged: Vec<Logged>) {
        let last = logged.len().saturating_sub(1);
        for (index, Logged { record, alarming }) in logged.into_iter().enumerate() {
            let record = slog::Serde(record);
            // The tag is a constant of each log site, hence one site per case.
            match (alarming, index < last) {
                (true, true) => {
                    warn!(self.log, #AUDIT_TAG_MORE, "Audit record"; "record" => record, "log" => "audit")
                }
                (true, false) => {
                    warn!(self.log, #AUDIT_TAG, "Audit record"; "record" => record, "log" => "audit")
                }
                (false, true) => {
                    info!(self.log, #AUDIT_TAG_MORE, "Audit record"; "record" => record, "log" => "audit")
                }
                (false, false) => {
                    info!(self.log, #AUDIT_TAG, "Audit record"; "record" => record, "log" => "audit")
                }
            }
        }
    }

    /// A record is on every sink: its operation may answer, and the control plane gets it.
    fn written(&mut self, sealed: Sealed, spooled: bool) {
        if spooled {
            self.metrics.audit_spooled();
        }
        let line = sealed.written();
        if let (true, true, Some(outbox)) = (spooled, self.connected, &self.outbox) {
            outbox.forward.do_send(ForwardAudit { line });
        }
    }
}
