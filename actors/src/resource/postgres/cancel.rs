//! Cancelling a running statement: the running operation publishes its connection's cancel token, the
//! control plane's `cancel` uses it.

use postgres::CancelToken;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Running operations of one resource, by request id.
#[derive(Clone, Default)]
pub struct CancelRegistry {
    running: Arc<Mutex<HashMap<String, Arc<CancelSlot>>>>,
}

/// One running operation's cancel state.
#[derive(Default)]
pub struct CancelSlot {
    token: Mutex<Option<CancelToken>>,
    cancelled: AtomicBool,
}

impl CancelSlot {
    /// Publishes the token of the connection the operation runs on.
    pub fn arm(&self, token: CancelToken) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }

    /// Whether the control plane asked to cancel this operation.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    fn take_token(&self) -> Option<CancelToken> {
        self.token.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl CancelRegistry {
    /// Registers an operation; the returned slot is unregistered by [`CancelRegistry::finish`].
    pub fn start(&self, request_id: &str) -> Arc<CancelSlot> {
        let slot = Arc::new(CancelSlot::default());
        self.lock().insert(request_id.to_owned(), Arc::clone(&slot));
        slot
    }

    pub fn finish(&self, request_id: &str) {
        self.lock().remove(request_id);
    }

    /// Marks the operation cancelled and returns its token, if the statement is running. The caller
    /// sends the cancel request on a blocking thread (it opens a connection to the server).
    pub fn cancel(&self, request_id: &str) -> Option<CancelToken> {
        let slot = self.lock().get(request_id).cloned()?;
        slot.cancelled.store(true, Ordering::SeqCst);
        slot.take_token()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CancelSlot>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_marks_the_slot_and_finish_forgets_it() {
        let registry = CancelRegistry::default();
        let slot = registry.start("r1");
        assert!(!slot.is_cancelled());
        // Not armed yet (no statement running): nothing to send, but the cancel is remembered.
        assert!(registry.cancel("r1").is_none());
        assert!(slot.is_cancelled());
        registry.finish("r1");
        assert!(registry.cancel("r1").is_none());
        assert!(registry.cancel("unknown").is_none());
    }
}
