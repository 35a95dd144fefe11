//! The auditor's messages: readiness, operation records (rendered off the actor when large),
//! security events, the control-plane link and acknowledgements.

use super::batch::Written;
use super::record::{record_statement, RecordedStatement};
use super::statement::Statement;
use super::{AuditRecord, Auditor, INLINE_STATEMENT_BYTES};
use super::{SecurityEvent, SecurityKind};
use crate::json_size::larger_than;
use crate::log_event::LogEvent;
use crate::messages::{
    AuditAcked, AuditLink, AuditReady, AuditStopping, AuditUnavailable, ForwardAudit, Record,
    Security,
};
use actix::{fut, ActorFutureExt, Context, Handler, ResponseActFuture, WrapFuture};
use slog::warn;
use std::sync::Arc;
use tokio::sync::oneshot;

impl Handler<AuditReady> for Auditor {
    type Result = Result<(), AuditUnavailable>;

    fn handle(&mut self, _: AuditReady, _ctx: &mut Context<Self>) -> Self::Result {
        if self.stopped {
            return Err(super::closed());
        }
        self.refresh();
        match &self.failure {
            Some(reason) => Err(AuditUnavailable(reason.clone())),
            None => Ok(()),
        }
    }
}

/// Whether rendering a statement may take long enough to belong on a blocking thread. The
/// parameters of a catalog operation (a table name) are as short as most SQL, and as quick.
fn large(statement: &Statement) -> bool {
    match statement {
        Statement::Sql(text) | Statement::Message(text) => text.len() > INLINE_STATEMENT_BYTES,
        Statement::Json(value) => larger_than(value, INLINE_STATEMENT_BYTES),
    }
}

impl Handler<Record> for Auditor {
    type Result = ResponseActFuture<Self, Result<u64, AuditUnavailable>>;

    fn handle(&mut self, message: Record, ctx: &mut Context<Self>) -> Self::Result {
        let mut record = message.record;
        if !self.wanted(Some(record.outcome)) {
            let answer = match &self.failure {
                Some(reason) => Err(AuditUnavailable(reason.clone())),
                None => Ok(0),
            };
            return Box::pin(fut::ready(answer));
        }
        let statement = record.statement.take();
        let in_background = statement.as_ref().is_some_and(large);
        if !in_background {
            let recorded = statement.map(|statement| self.recorded_statement(statement));
            return self.submit(&record, recorded.as_deref(), ctx);
        }
        let max_bytes = self.settings.max_statement_bytes as usize;
        let redact = self.settings.redact_statements;
        let engine = Arc::clone(&self.masking);
        let prepare = move || {
            statement.map(|statement| record_statement(&statement, max_bytes, redact, &engine))
        };
        let prepared = actix_rt::task::spawn_blocking(prepare);
        Box::pin(
            prepared
                .into_actor(self)
                .then(move |prepared, auditor, ctx| match prepared {
                    Ok(recorded) => auditor.submit(&record, recorded.as_ref(), ctx),
                    Err(_) => Box::pin(fut::ready(Err(AuditUnavailable(
                        "the statement could not be prepared for its record".into(),
                    )))),
                }),
        )
    }
}

impl Auditor {
    /// A short statement as its record shows it, rendered once per text.
    fn recorded_statement(&mut self, statement: Statement) -> Arc<RecordedStatement> {
        let render = |auditor: &Self| {
            let max_bytes = auditor.settings.max_statement_bytes as usize;
            let redact = auditor.settings.redact_statements;
            Arc::new(record_statement(
                &statement,
                max_bytes,
                redact,
                &auditor.masking,
            ))
        };
        let Statement::Sql(sql) = &statement else {
            return render(self);
        };
        if let Some(recorded) = self.rendered.get(sql) {
            return recorded;
        }
        let recorded = render(self);
        self.rendered.insert(sql, Arc::clone(&recorded));
        recorded
    }

    /// Adds an operation's record to the batch and answers once the batch is written.
    fn submit(
        &mut self,
        record: &AuditRecord,
        statement: Option<&RecordedStatement>,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Written> {
        let (reply, answer) = oneshot::channel();
        if let Err(refused) = self.enqueue_operation(record, statement, Some(reply)) {
            return Box::pin(fut::ready(Err(refused)));
        }
        self.schedule_flush(ctx);
        let answer = async move {
            answer.await.unwrap_or_else(|_| {
                Err(AuditUnavailable(
                    "the audit trail stopped before the record was written".into(),
                ))
            })
        };
        Box::pin(answer.into_actor(self))
    }
}

impl Handler<Security> for Auditor {
    type Result = ();

    fn handle(&mut self, message: Security, _ctx: &mut Context<Self>) {
        self.security(message.event);
    }
}

impl Handler<AuditStopping> for Auditor {
    type Result = ();

    fn handle(&mut self, stopping: AuditStopping, _ctx: &mut Context<Self>) {
        // Records are written in order, so this one comes after every record sent before it.
        self.security(SecurityEvent {
            kind: SecurityKind::RelayStopped,
            details: stopping.details,
            alarming: false,
        });
        if !self.waiting.is_empty() {
            warn!(self.log, "{}", LogEvent::AuditTrailUnavailableAtShutdown;
                "events" => self.waiting.len());
        }
        if let Err(err) = self.sinks.sync_file() {
            warn!(self.log, "{}", LogEvent::CannotSyncAuditFileAtShutdown;
                "error" => err.to_string());
        }
        // Whatever arrives from now on (a pipeline that outlived the drain, a statement still
        // being rendered) is refused: relay_stopped stays the chain's last record.
        self.stopped = true;
        self.gate.set_open(false);
    }
}

impl Handler<AuditLink> for Auditor {
    type Result = ();

    fn handle(&mut self, link: AuditLink, _ctx: &mut Context<Self>) {
        self.connected = link.connected;
        if !link.connected {
            return;
        }
        if let (Some(spool), Some(outbox)) = (self.sinks.spool(), &self.outbox) {
            for line in spool.pending_lines() {
                outbox.forward.do_send(ForwardAudit { line });
            }
        }
    }
}

impl Handler<AuditAcked> for Auditor {
    type Result = ();

    fn handle(&mut self, ack: AuditAcked, _ctx: &mut Context<Self>) {
        let Some(spool) = self.sinks.spool_mut() else {
            return;
        };
        let before = spool.len();
        if let Err(err) = spool.acknowledge(&ack.chain_id, ack.seq) {
            // The records are forgotten all the same; a restart may send them again.
            warn!(self.log, "{}", LogEvent::CannotRecordAuditAcknowledgement; "error" => err.to_string());
        }
        let changed = spool.len() != before;
        self.refresh();
        self.publish_metrics();
        if changed {
            self.report_status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_long_statement_or_a_large_command_is_rendered_off_the_actor() {
        assert!(!large(&Statement::Json(json!({"table": "customers"}))));
        assert!(!large(&Statement::Sql("SELECT 1".into())));
        let long = "x".repeat(INLINE_STATEMENT_BYTES + 1);
        assert!(large(&Statement::Sql(long.clone())));
        assert!(large(&Statement::Message(long.clone())));
        let pipeline: Vec<_> = (0..2000).map(|n| json!({"$match": {"n": n}})).collect();
        assert!(large(&Statement::Json(
            json!({"aggregate": "c", "pipeline": pipeline})
        )));
        assert!(large(&Statement::Json(json!({"filter": {"name": long}}))));
    }
}
