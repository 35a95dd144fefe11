//! One checked statement from the control plane, with the limits and the cancel it runs under.

use super::cancel::CancelSlot;
use super::trace::Tracing;
use crate::domain::{Deadline, RowMasking};
use serde_json::Value;

/// One checked statement from the control plane and what it may take.
pub struct Query<'a> {
    pub sql: &'a str,
    pub params: &'a [Value],
    pub limits: &'a StatementLimits,
    pub cancel: &'a CancelSlot,
    pub tracing: Option<&'a Tracing>,
    /// An `EXPLAIN` without `ANALYZE`: only planned, its output bounded by the statement's size,
    /// so it needs no size guard to run in one round trip.
    pub plan_only: bool,
    /// Masks the rows as they are written, when given; else they are returned as values.
    pub masking: Option<&'a dyn RowMasking>,
}

/// Limits of one operation's statements.
pub struct StatementLimits {
    /// The request's deadline: the checkout waits no longer, and each statement's timeout is the
    /// time remaining (never more than the session's).
    pub deadline: Deadline,
    pub max_rows: u32,
    pub max_bytes: u64,
    /// Release session advisory locks after the operation: set when the resource allows functions
    /// of its own, which might take them (the built-in allow-list has none that can).
    pub release_advisory_locks: bool,
    /// Wrap the statement so the database stops sending values past `max_bytes` (a SELECT only:
    /// SHOW and EXPLAIN cannot be a sub-query, and their answers are small).
    pub guard_size: bool,
}
