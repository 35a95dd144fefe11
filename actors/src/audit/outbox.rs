//! Where the auditor's sealed records go (the control plane the supervisor last published) and
//! where it reports the trail's state.

use crate::messages::{AuditStatusChanged, ForwardAudit};
use actix::Recipient;
use tokio::sync::watch;

/// Where the auditor sends records for the control plane and reports its state.
pub struct AuditOutbox {
    pub forward: Forwarder,
    pub status: Recipient<AuditStatusChanged>,
}

/// The control plane that sealed records go to: the one the supervisor last published, so a
/// restarted control-plane actor gets them at once and none passes through the supervisor.
pub struct Forwarder(watch::Receiver<Option<Recipient<ForwardAudit>>>);

impl Forwarder {
    /// Follows the destination the supervisor publishes.
    pub fn following(destination: watch::Receiver<Option<Recipient<ForwardAudit>>>) -> Self {
        Forwarder(destination)
    }

    /// Always the same destination.
    pub fn fixed(destination: Recipient<ForwardAudit>) -> Self {
        Forwarder(watch::Sender::new(Some(destination)).subscribe())
    }

    /// Sends a record if there is a control plane (the spool keeps it either way).
    pub fn do_send(&self, forward: ForwardAudit) {
        if let Some(destination) = self.0.borrow().as_ref() {
            destination.do_send(forward);
        }
    }
}
