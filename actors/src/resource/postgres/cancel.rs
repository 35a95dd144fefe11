//! Cancelling a running statement: the running operation publishes its connection's cancel token, the
//! control plane's `cancel` uses it.

use crate::domain::RequestKey;
use postgres::CancelToken;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Running operations of one resource, by request (not by id, which two requests may share).
#[derive(Clone, Default)]
pub struct CancelRegistry {
    running: Arc<Mutex<HashMap<RequestKey, Arc<CancelSlot>>>>,
}

/// One running operation's cancel state.
#[derive(Default)]
pub struct CancelSlot {
    token: Mutex<Token<CancelToken>>,
    cancelled: AtomicBool,
}

/// The token of the connection a statement runs on, as far as a cancel is concerned.
#[derive(Debug, Default, PartialEq)]
enum Token<T> {
    #[default]
    Unarmed,
    Armed(T),
    /// A cancel took it: its request to the server may still be on its way.
    Taken,
}

impl<T> Token<T> {
    /// The armed token, for a cancel to send; none when unarmed or already sent.
    fn take(&mut self) -> Option<T> {
        match std::mem::take(self) {
            Token::Armed(token) => {
                *self = Token::Taken;
                Some(token)
            }
            unarmed_or_taken => {
                *self = unarmed_or_taken;
                None
            }
        }
    }

    /// Back to unarmed; `true` when a cancel had taken the token.
    fn withdraw(&mut self) -> bool {
        matches!(std::mem::take(self), Token::Taken)
    }
}

impl CancelSlot {
    /// Publishes the token of the connection the operation runs on.
    pub fn arm(&self, token: CancelToken) {
        *self.lock() = Token::Armed(token);
    }

    /// Withdraws the token once the connection's statement is over. `true` when a cancel took it
    /// first: the server acts on a cancel request whenever it arrives, so one still on its way
    /// would stop whatever statement the connection runs next, and the connection is not reused.
    pub fn disarm(&self) -> bool {
        self.lock().withdraw()
    }

    /// Whether the control plane asked to cancel this operation.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    fn take_token(&self) -> Option<CancelToken> {
        self.lock().take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Token<CancelToken>> {
        self.token.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CancelRegistry {
    /// Registers an operation; the returned slot is unregistered by [`CancelRegistry::finish`].
    pub fn start(&self, request: RequestKey) -> Arc<CancelSlot> {
        let slot = Arc::new(CancelSlot::default());
        self.lock().insert(request, Arc::clone(&slot));
        slot
    }

    pub fn finish(&self, request: RequestKey) {
        self.lock().remove(&request);
    }

    /// Marks the operation cancelled and returns its token, if the statement is running. The caller
    /// sends the cancel request on a blocking thread (it opens a connection to the server).
    pub fn cancel(&self, request: RequestKey) -> Option<CancelToken> {
        let slot = self.lock().get(&request).cloned()?;
        slot.cancelled.store(true, Ordering::SeqCst);
        slot.take_token()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestKey, Arc<CancelSlot>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CancelHandle;

    #[test]
    fn cancelling_marks_the_slot_and_finish_forgets_it() {
        let registry = CancelRegistry::default();
        let (request, other) = (CancelHandle::default().key(), CancelHandle::default().key());
        let slot = registry.start(request);
        let other_slot = registry.start(other);
        assert!(!slot.is_cancelled());
        // Not armed yet (no statement running): nothing to send, but the cancel is remembered.
        assert!(registry.cancel(request).is_none());
        assert!(slot.is_cancelled());
        assert!(!other_slot.is_cancelled(), "only the request cancelled");
        registry.finish(request);
        assert!(registry.cancel(request).is_none());
        assert!(!other_slot.is_cancelled());
    }

    #[test]
    fn a_token_a_cancel_took_keeps_the_connection_from_being_reused() {
        let mut token = Token::default();
        // Never armed (the request failed before its statement): nothing was sent.
        assert!(!token.withdraw());
        // Withdrawn before any cancel: a later cancel finds nothing to send.
        token = Token::Armed(7);
        assert!(!token.withdraw());
        assert_eq!(token.take(), None);
        // Taken by a cancel while the statement ran: the connection must go.
        token = Token::Armed(7);
        assert_eq!(token.take(), Some(7));
        assert_eq!(token.take(), None, "a token is sent once");
        assert!(token.withdraw());
        assert!(!token.withdraw());
        assert_eq!(token, Token::Unarmed);
    }
}
