//! Driver errors as wire errors: timeouts (statement and lock), cancellation, read-only refusal,
//! lost connections and other failures, with the database's own message and SQLSTATE.

use super::cancel::CancelSlot;
use crate::messages::OperationError;
use crate::protocol::ErrorCode;

/// A driver error in words: the database's own message and SQLSTATE when it sent one (the
/// driver's `Display` says only "db error" then).
pub fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// Maps a driver error to a wire error: statement timeout, cancellation, read-only refusal, or failure.
pub fn classify(err: postgres::Error, cancel: Option<&CancelSlot>) -> OperationError {
    let Some(db) = err.as_db_error() else {
        let code = if err.is_closed() {
            ErrorCode::ResourceUnavailable
        } else {
            ErrorCode::QueryFailed
        };
        return OperationError::new(code, err.to_string());
    };
    let sqlstate = db.code().code();
    if sqlstate == "55P03" {
        return OperationError::new(
            ErrorCode::Timeout,
            format!(
                "waited on a lock longer than lockTimeoutMs: {} (SQLSTATE 55P03)",
                db.message()
            ),
        );
    }
    let code = match sqlstate {
        "57014" if cancel.is_some_and(CancelSlot::is_cancelled) => ErrorCode::Cancelled,
        "57014" => ErrorCode::Timeout,
        "25006" => ErrorCode::NotReadOnly,
        _ => ErrorCode::QueryFailed,
    };
    OperationError::new(code, format!("{} (SQLSTATE {sqlstate})", db.message()))
}

/// Whether an error on the first statement means the connection itself is gone.
pub(super) fn connection_lost(err: &postgres::Error) -> bool {
    match err.as_db_error() {
        None => true,
        // admin_shutdown, crash_shutdown, cannot_connect_now: the server is restarting.
        Some(db) => db.code().code().starts_with("57P"),
    }
}
