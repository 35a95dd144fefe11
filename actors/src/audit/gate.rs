//! The audit trail's readiness as the auditor last published it, read by every request without a
//! round trip to the auditor's thread.
//!
//! The auditor publishes after everything that can change whether it can write a record (a
//! flush, an acknowledgement, a reconfiguration, a failure, its stop), so the published state is
//! what asking it would answer. A request asks it anyway (`AuditReady`, which also retries a
//! failed trail) whenever the gate is closed or too many admitted operations still wait for
//! their records: asking waits in its bounded mailbox, the back-pressure kept for exactly the
//! case it exists for.
//!
//! Every operation admitted counts until the auditor has handled its record. An auditor that
//! stalls (a disk that stops answering mid-write) cannot publish, so this count is what stops
//! new operations: at most [`UNRECORDED_AT_ONCE`] run past it before requests wait for the
//! auditor itself, and are refused when it does not answer in time; and a record it does not
//! take within the pipeline's wait closes the gate until the auditor publishes again.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Operations admitted whose records the auditor has not handled yet, beyond which a new
/// operation asks the auditor whether it keeps up.
pub const UNRECORDED_AT_ONCE: usize = 64;

/// Shared between the auditor (which opens and closes it) and the requests (which read it).
/// Closed until an auditor opens it.
#[derive(Clone, Default, Debug)]
pub struct AuditGate(Arc<GateState>);

#[derive(Default, Debug)]
struct GateState {
    open: AtomicBool,
    unrecorded: AtomicUsize,
}

impl AuditGate {
    /// The auditor's word: it can write a record now, or it cannot.
    pub fn set_open(&self, open: bool) {
        self.0.open.store(open, Ordering::Release);
    }

    /// Whether an operation may start without asking the auditor: it said it can write, and
    /// few enough admitted operations wait for it.
    pub fn admits_at_once(&self) -> bool {
        self.0.open.load(Ordering::Acquire)
            && self.0.unrecorded.load(Ordering::Relaxed) < UNRECORDED_AT_ONCE
    }

    /// Counts an admitted operation until the returned guard is dropped, once the auditor has
    /// handled its record (or is gone).
    pub fn admitted(&self) -> Unrecorded {
        self.0.unrecorded.fetch_add(1, Ordering::Relaxed);
        Unrecorded(Arc::clone(&self.0))
    }
}

/// An operation admitted whose record the auditor has not handled yet.
pub struct Unrecorded(Arc<GateState>);

impl Drop for Unrecorded {
    fn drop(&mut self) {
        self.0.unrecorded.fetch_sub(1, Ordering::Relaxed);
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
    fn too_many_unrecorded_operations_make_new_ones_ask() {
        let gate = AuditGate::default();
        gate.set_open(true);
        let waiting: Vec<_> = (0..UNRECORDED_AT_ONCE)
            .map(|_| gate.clone().admitted())
            .collect();
        assert!(!gate.admits_at_once(), "as many as may wait do");
        drop(waiting);
        assert!(
            gate.admits_at_once(),
            "every answered record stops counting"
        );
    }
}
