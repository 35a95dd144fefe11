//! A reload's new audit settings and masking patterns, taken by the running auditor: the chain
//! goes on (same chain id, next sequence number); the files are reopened only when where or how
//! much they hold changed.

use super::sinks::Sinks;
use super::Auditor;
use crate::reload_messages::Reconfigure;
use actix::{Context, Handler};
use relay_config::Audit;

/// Whether the sinks must be opened again for `new`: another file, spool or limit.
fn sinks_differ(old: &Audit, new: &Audit) -> bool {
    old.file != new.file
        || old.control_plane != new.control_plane
        || old.spool_path != new.spool_path
        || old.spool_max_records != new.spool_max_records
        || old.max_spool_bytes != new.max_spool_bytes
        || old.max_statement_bytes != new.max_statement_bytes
        || (new.enabled && !old.enabled)
}

impl Handler<Reconfigure> for Auditor {
    type Result = ();

    fn handle(&mut self, reconfigure: Reconfigure, _ctx: &mut Context<Self>) {
        self.masking = reconfigure.masking;
        self.rendered.clear();
        if reconfigure.settings == self.settings {
            return;
        }
        let reopen = sinks_differ(&self.settings, &reconfigure.settings);
        self.settings = reconfigure.settings;
        if reopen {
            // Closed while the sinks change hands (reading the spool back can take a while):
            // the next publish says whether the new ones can be written.
            self.gate.set_open(false);
            // The records sealed so far go to the files they were sealed for.
            let _ = self.flush_batch();
            // Nothing opens until `open_missing`, so the old files (and the spool's lock) are
            // closed by then.
            self.sinks = Sinks::new(&self.settings, &self.tenant_id);
            if self.settings.enabled {
                let notes = self.sinks.open_missing();
                self.log_opened(notes);
            }
        }
        self.refresh();
        self.publish_metrics();
        self.report_status();
    }
}
