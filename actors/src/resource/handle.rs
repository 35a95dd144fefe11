//! A started resource as the rest of the relay holds it, whatever its engine: where its
//! operations, cancels and retirement go, and what a request's deadline is capped by.

use crate::messages::{CancelRequest, Drain, RunOperation};
use crate::reload_messages::Retire;
use actix::Recipient;
use std::time::Duration;

/// The addresses of one running resource actor.
#[derive(Clone)]
pub struct ResourceHandle {
    pub run: Recipient<RunOperation>,
    pub cancel: Recipient<CancelRequest>,
    pub retire: Recipient<Retire>,
    pub drain: Recipient<Drain>,
    /// `statementTimeoutMs`: no request's deadline is later than this after it arrives.
    pub statement_timeout: Duration,
}

impl ResourceHandle {
    /// Whether the actor still runs (a panic in a handler drops it).
    pub fn connected(&self) -> bool {
        self.run.connected()
    }
}
