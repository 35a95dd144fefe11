//! The audit trail: one tamper-evident record per operation and per security event, written in
//! order to stdout (marked `"log":"audit"`), to an optional file, and to the control plane, with
//! what it has not acknowledged spooled so an outage loses nothing.
//!
//! While a sink cannot be opened or written, or the spool is full, the trail is unavailable:
//! operations are refused, security events wait (a bounded number of them), and the sinks are
//! retried every [`RETRY_INTERVAL`], so a directory created later or an acknowledgement that
//! makes room heals it without a restart.

mod batch;
pub mod gate;
mod operation_line;
mod outbox;
pub use outbox::{AuditOutbox, Forwarder};
pub use relay_audit_chain as chain;
pub mod record;
pub mod sinks;
pub mod spool;
pub mod statement;

use crate::log_event::LogEvent;
use crate::lru::Lru;
use crate::masking::MaskingEngine;
use crate::messages::{AuditStatusChanged, AuditUnavailable};
use crate::metrics::{AuditObservation, Metrics};
use crate::protocol::{AuditHealth, MaskedCounts};
use crate::time::now_rfc3339;
use actix::{Actor, AsyncContext, Context};
use batch::{Batch, Reply};
use chain::Chain;
use gate::AuditGate;
use record::{genesis_body, operation_fields, security_body, BodyError, RecordedStatement};
pub use record::{AuditRecord, Outcome, SecurityEvent, SecurityKind};
use relay_config::{Audit, AuditLevel};
use sinks::{Opened, Sinks};
use slog::{error, info, warn, Logger};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `records_dropped` is recorded at most this often while the spool overflows.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// How often an unavailable trail tries its sinks again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Security events kept while the trail is unavailable; older ones are lost beyond (and counted).
const WAITING_EVENTS: usize = 256;
/// Statements (SQL, or a request's JSON) up to this long are rendered on the actor; longer ones
/// on a blocking thread.
const INLINE_STATEMENT_BYTES: usize = 16 << 10;

/// Renderings kept for statements sent again (a control plane repeats its queries with other
/// parameters), and the longest statement kept: at most about 128 × (2 KiB + its rendering).
const RENDERED_STATEMENTS: usize = 128;
const RENDERED_STATEMENT_BYTES: usize = 2 << 10;

/// The audit actor.
pub struct Auditor {
    settings: Audit,
    tenant_id: String,
    masking: Arc<MaskingEngine>,
    log: Logger,
    outbox: Option<AuditOutbox>,
    chain: Chain,
    genesis_written: bool,
    sinks: Sinks,
    connected: bool,
    /// Why records cannot be written; while set, operations are refused.
    failure: Option<String>,
    unavailable_since: Option<String>,
    waiting: VecDeque<SecurityEvent>,
    /// Set once `relay_stopped` is written: the chain is closed, and nothing comes after it.
    stopped: bool,
    events_lost: u64,
    dropped_reported: u64,
    last_drop_report: Option<Instant>,
    metrics: Arc<Metrics>,
    /// The spool's dropped count when the metrics last saw it.
    dropped_published: u64,
    /// Records sealed, written to stdout, the file and the spool by the next flush.
    batch: Batch,
    flush_scheduled: bool,
    /// Whether it can write a record, published for requests to read without asking.
    gate: AuditGate,
    /// Set when the actor stops: its last flush must not open the gate again.
    closing: bool,
    /// SQL statements as recently rendered for records, by their exact text: rendering
    /// depends only on the text, the settings and the masking patterns, and a reconfiguration
    /// forgets them all.
    rendered: Lru<Arc<RecordedStatement>>,
}

impl Auditor {
    pub fn new(
        settings: Audit,
        tenant_id: String,
        masking: Arc<MaskingEngine>,
        log: Logger,
        outbox: Option<AuditOutbox>,
    ) -> Self {
        let chain_id = format!("{}-{:016x}", now_rfc3339(), fastrand::u64(..));
        let sinks = Sinks::new(&settings, &tenant_id);
        Auditor {
            settings,
            tenant_id,
            masking,
            log,
            outbox,
            chain: Chain::new(chain_id),
            genesis_written: false,
            sinks,
            connected: false,
            failure: None,
            unavailable_since: None,
            waiting: VecDeque::new(),
            stopped: false,
            events_lost: 0,
            dropped_reported: 0,
            last_drop_report: None,
            metrics: Arc::default(),
            dropped_published: 0,
            batch: Batch::default(),
            flush_scheduled: false,
            gate: AuditGate::default(),
            closing: false,
            rendered: Lru::new(RENDERED_STATEMENTS, RENDERED_STATEMENT_BYTES),
        }
    }

    /// Records the trail's state in the relay's metrics (else in a handle nobody reads).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Publishes its readiness on `gate` (shared with the requests that read it).
    /// It stays closed until this auditor has started and checked its sinks.
    pub fn with_gate(mut self, gate: AuditGate) -> Self {
        gate.set_open(false);
        self.gate = gate;
        self
    }

    /// Whether an operation's record can be written now: what `AuditReady` would answer.
    fn accepts_records(&self) -> bool {
        !self.stopped
            && !self.closing
            && self.failure.is_none()
            && (!self.settings.enabled || self.sinks.problem().is_none())
    }

    /// Publishes the trail's state: to the metrics, and to the gate requests read. Called after
    /// everything that can change whether a record can be written.
    fn publish_metrics(&mut self) {
        self.gate.set_open(self.accepts_records());
        let spool = self.sinks.spool();
        let dropped = spool.map_or(0, spool::Spool::dropped);
        // A reopened spool counts from zero again.
        let newly_dropped = dropped.saturating_sub(self.dropped_published);
        self.dropped_published = dropped;
        self.metrics.audit_observed(AuditObservation {
            available: self.failure.is_none(),
            pending: spool.map_or(0, |s| s.len() as u64),
            pending_bytes: spool.map_or(0, spool::Spool::pending_bytes),
            newly_dropped,
        });
    }

    fn log_opened(&self, notes: Vec<Opened>) {
        for note in notes {
            let Opened::ForeignRecords { path, records } = note;
            warn!(self.log, "{}", LogEvent::AuditSpoolHeldRecordsOfAnotherTenant;
                "path" => path, "records" => records);
        }
    }

    /// Re-evaluates whether records can be written, logs and reports a change, and writes what
    /// waited once they can.
    fn refresh(&mut self) {
        self.update_failure();
        if self.failure.is_none() {
            self.flush_waiting();
        }
    }

    fn update_failure(&mut self) {
        let now = if self.settings.enabled {
            self.sinks.problem()
        } else {
            None
        };
        if now == self.failure {
            return;
        }
        match (&now, self.failure.take()) {
            (Some(reason), _) => {
                error!(self.log, "{}", LogEvent::AuditTrailUnavailable; "error" => reason.clone());
                self.unavailable_since.get_or_insert_with(now_rfc3339);
            }
            (None, Some(previous)) => {
                info!(self.log, "{}", LogEvent::AuditTrailAvailableAgain; "previousError" => previous.clone());
                let since = self.unavailable_since.take();
                let details = serde_json::json!({"error": previous, "since": since,
                    "eventsLost": self.events_lost});
                self.events_lost = 0;
                self.wait(SecurityEvent {
                    kind: SecurityKind::AuditRecovered,
                    details,
                    alarming: true,
                });
            }
            (None, None) => {}
        }
        self.failure = now;
        self.publish_metrics();
        self.report_status();
    }

    /// Writes the genesis record (when the chain has none yet) and the events that waited.
    fn flush_waiting(&mut self) {
        if !self.genesis_written {
            let genesis = genesis_body(&now_rfc3339(), &self.tenant_id).map_err(unrendered);
            if genesis
                .and_then(|body| self.write_now(body, false))
                .is_err()
            {
                return;
            }
            self.genesis_written = true;
        }
        while let Some(event) = self.waiting.pop_front() {
            if self.write_event(&event).is_err() {
                break;
            }
        }
    }

    fn wait(&mut self, event: SecurityEvent) {
        if self.waiting.len() >= WAITING_EVENTS {
            self.waiting.pop_front();
            self.events_lost += 1;
        }
        self.waiting.push_back(event);
    }

    fn wanted(&self, outcome: Option<Outcome>) -> bool {
        self.settings.enabled
            && (self.settings.level == AuditLevel::Info || outcome.is_none_or(|o| o != Outcome::Ok))
    }

    /// Records (at most once a minute) that a full spool dropped records, and says so in health.
    fn report_drops(&mut self) {
        let dropped = self.sinks.spool().map_or(0, spool::Spool::dropped);
        if dropped == self.dropped_reported {
            return;
        }
        let due = self
            .last_drop_report
            .is_none_or(|at| at.elapsed() >= DROP_REPORT_INTERVAL);
        if !due {
            return;
        }
        self.last_drop_report = Some(Instant::now());
        let newly = dropped - self.dropped_reported;
        self.dropped_reported = dropped;
        let details = serde_json::json!({"dropped": newly, "droppedTotal": dropped,
            "spoolMaxRecords": self.settings.spool_max_records});
        self.security(SecurityEvent {
            kind: SecurityKind::RecordsDropped,
            details,
            alarming: true,
        });
        self.report_status();
    }

    fn security(&mut self, event: SecurityEvent) {
        if !self.settings.enabled || self.stopped {
            return;
        }
        let mut event = event;
        // Details can quote what a peer sent (a close reason, an error): they leave masked.
        self.masking
            .mask_value(&mut event.details, &mut MaskedCounts::default());
        if self.failure.is_some() || !self.genesis_written {
            self.wait(event);
            return;
        }
        let _ = self.write_event(&event);
    }

    /// Security events are rare: each is written at once (with the batch before it).
    fn write_event(&mut self, event: &SecurityEvent) -> Result<(), AuditUnavailable> {
        let body = security_body(event, &now_rfc3339(), &self.tenant_id).map_err(unrendered)?;
        self.write_now(body, event.alarming)
    }

    /// Adds an operation's record to the batch; `reply` hears whether it was written.
    fn enqueue_operation(
        &mut self,
        record: &AuditRecord,
        statement: Option<&RecordedStatement>,
        reply: Reply,
    ) -> Result<(), AuditUnavailable> {
        if self.stopped {
            return Err(closed());
        }
        self.available()?;
        let time = now_rfc3339();
        let body = operation_fields(record, statement, &time);
        let (seq, line) =
            operation_line::seal_operation(&mut self.chain, &body).map_err(|_| unserialized())?;
        self.add_sealed(seq, line, record.outcome != Outcome::Ok, reply);
        Ok(())
    }

    fn report_status(&self) {
        if let Some(outbox) = &self.outbox {
            outbox.status.do_send(AuditStatusChanged {
                status: self.status(),
            });
        }
    }

    fn status(&self) -> AuditHealth {
        let spool = self.sinks.spool();
        AuditHealth {
            enabled: self.settings.enabled,
            available: self.failure.is_none(),
            chain_id: self.chain.id().to_owned(),
            pending: spool.map_or(0, |s| s.len() as u64),
            dropped: spool.map_or(0, spool::Spool::dropped),
            error: self.failure.clone(),
        }
    }
}

impl Actor for Auditor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.settings.enabled {
            let notes = self.sinks.open_missing();
            self.log_opened(notes);
        }
        // Also while disabled: a reload may enable the trail.
        ctx.run_interval(RETRY_INTERVAL, |auditor, _ctx| {
            if auditor.failure.is_some() {
                let notes = auditor.sinks.retry();
                auditor.log_opened(notes);
                auditor.refresh();
            }
        });
        self.refresh();
        self.publish_metrics();
        self.report_status();
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.closing = true;
        self.gate.set_open(false);
        // Records sealed in the last turn still reach the file and the spool.
        let _ = self.flush_batch();
    }
}

mod flush;
mod handlers;
mod reconfigure;

/// Why nothing is written once the relay's last record is.
fn closed() -> AuditUnavailable {
    AuditUnavailable("the relay is stopping and its audit chain is closed".into())
}

/// A record that could not be serialized is not written.
fn unserialized() -> AuditUnavailable {
    AuditUnavailable("a record could not be serialized".into())
}

/// A record that could not be rendered is not written, and says why.
fn unrendered(err: BodyError) -> AuditUnavailable {
    AuditUnavailable(err.to_string())
}

#[cfg(test)]
#[path = "auditor_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "gate_tests.rs"]
mod gate_tests;

#[cfg(test)]
#[path = "render_cache_tests.rs"]
mod render_cache_tests;
#[cfg(test)]
#[path = "stdout_tests.rs"]
mod stdout_tests;
