//! The audit trail's readiness as the auditor last published it, read by every request without a
//! round trip to the auditor's thread.
//!
//! The auditor publishes after everything that can change whether it can write a record (a
//! flush, an acknowledgement, a reconfiguration, a failure, its stop), so the published state is
//! what asking it would answer. A request asks it anyway (`AuditReady`, which also retries a
//! failed trail) whenever the gate is closed or too many records already wait for it: that is
//! the back-pressure of its bounded mailbox, kept for exactly the case it exists for.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Records that may wait for the auditor before a new operation must ask it whether it keeps
/// up: as many as its mailbox holds (actix's default capacity), so a stalled disk stops new
/// operations after at most this many more.
pub const RECORDS_WAITING_AT_ONCE: usize = 16;

/// Shared between the auditor (which opens and closes it) and the requests (which read it).
/// Closed until an auditor opens it.
#[derive(Clone, Default, Debug)]
pub struct AuditGate(Arc<GateState>);

#[derive(Default, Debug)]
struct GateState {
    open: AtomicBool,
    records_waiting: AtomicUsize,
}

impl AuditGate {
    /// The auditor's word: it can write a record now, or it cannot.
    pub fn set_open(&self, open: bool) {
        self.0.open.store(open, Ordering::Release);
    }

    /// Whether an operation may start without asking the auditor: it said it can write, and
    /// few enough records wait for it.
    pub fn admits_at_once(&self) -> bool {
        self.0.open.load(Ordering::Acquire)
            && self.0.records_waiting.load(Ordering::Relaxed) < RECORDS_WAITING_AT_ONCE
    }

    /// Counts a record as waiting for the auditor until the returned guard is dropped.
    pub fn record_waiting(&self) -> WaitingRecord {
        self.0.records_waiting.fetch_add(1, Ordering::Relaxed);
        WaitingRecord(Arc::clone(&self.0))
    }
}

/// A record sent to the auditor and not yet answered.
pub struct WaitingRecord(Arc<GateState>);

impl Drop for WaitingRecord {
    fn drop(&mut self) {
        self.0.records_waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_is_closed_until_the_auditor_opens_it() {
        let gate = AuditGate::default();
        assert!(!gate.admits_at_once());
        gate.set_open(true);
        assert!(gate.admits_at_once());
        gate.set_open(false);
        assert!(!gate.admits_at_once());
    }

    #[test]
    fn too_many_waiting_records_make_new_operations_ask() {
        let gate = AuditGate::default();
        gate.set_open(true);
        let waiting: Vec<_> = (0..RECORDS_WAITING_AT_ONCE)
            .map(|_| gate.clone().record_waiting())
            .collect();
        assert!(!gate.admits_at_once(), "a full mailbox's worth waits");
        drop(waiting);
        assert!(
            gate.admits_at_once(),
            "every answered record stops counting"
        );
    }
}
