//! The relay's domain types, shared by the actors and the pure engines: what an operation produced
//! and where its values come from, when it must be answered by, why it failed, and what the audit
//! trail records. A leaf: it imports only the wire protocol, and no actix.

mod audit;
mod cancel;
mod deadline;
mod output;
mod written;

pub use audit::{AuditRecord, Outcome, SecurityEvent, SecurityKind, Statement};
pub use cancel::{CancelHandle, RequestKey};
pub use deadline::Deadline;
pub use output::{
    AuditUnavailable, MaskPayload, Masked, MaskingError, OperationError, OperationOutput,
    OutputLineage, Source,
};
pub use written::{Cell, MaskedRowWriter, RowMasking, WrittenRows};
