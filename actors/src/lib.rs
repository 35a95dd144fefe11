//! The relay's actor system and the pure engines it uses.
//!
//! ```text
//!               Supervisor (supervisor/)  starts, watches and restarts; publishes the routes
//!    ┌─────────────┼────────────────┬──────────────┐
//! ControlPlane  Resource (1 per db)  Masker        Auditor
//! control_plane/ resource/           masking/      audit/
//! ```
//! The path of one request, one hop per line:
//! 1. [`control_plane::ControlPlane`] decodes a `request` and takes the latest [`routing::Routes`]
//!    the supervisor published (a `watch` channel, no mailbox hop);
//! 2. [`pipeline::run`] computes the request's one [`domain::Deadline`] and reads whether the
//!    [`audit::Auditor`] can record from what it publishes ([`audit::gate`]); it asks it
//!    (`AuditReady`, a round trip to its thread) only when that says no or records pile up;
//! 3. the [`resource::Resource`] checks the allow-list, admits the request and hands it to its
//!    engine's [`resource::Backend`] (policy, then the database);
//! 4. the [`masking::Masker`] masks the output (or the error text);
//! 5. the auditor writes the record (`Record`), and only then
//! 6. the control plane sends `result` or `error`; the auditor sends the sealed record to the
//!    control plane it finds published, and the control plane's `audit_ack` goes back to it.
//!
//! The supervisor is on no request's path: it starts children, restarts any that stop, applies
//! reloads and orders the drain. Domain types are in [`domain`] (a leaf), actor messages in
//! [`messages`], wire types in the `relay-protocol` crate (re-exported as [`protocol`]), the audit
//! chain in `relay-audit-chain`. Pure parts (policy, masking engine, lineage, backoff, reassembly,
//! the [`in_flight`] tracker that shutdown waits on) import no actix and carry their unit tests.
//!
//! Concurrency: every actor runs on the one actix system thread except the auditor, which has a
//! thread of its own, so its file and spool appends (and a disk that stalls them) never hold up
//! routing. Work that can take long runs elsewhere, on blocking threads: PostgreSQL's synchronous
//! driver ([`resource::off_thread`]; a request waits for a connection as a task, so no more
//! threads run statements than the pool has connections; health checks and cancels take their
//! own), masking of large results (a bounded pool, see [`masking`]), long statements' policy
//! checks and audit rendering, the encoding of large answers (one per core at once) and the status
//! file's writes. The MongoDB driver's I/O is async, as tasks
//! on the system thread. That thread does the routing, the small cases inline (where a thread hop
//! would cost more than the work) and the encoding of small answers.
#![forbid(unsafe_code)]

pub mod audit;
pub mod control_plane;
mod digits;
pub mod domain;
pub mod in_flight;
pub mod json_size;
mod json_text;
pub mod local_state;
pub mod log_event;
pub mod lru;
pub mod masking;
pub mod messages;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod reload_messages;
pub mod resource;
pub mod routing;
pub mod status_file;
pub mod supervisor;
pub mod tls;

pub use relay_protocol as protocol;
pub use relay_protocol::time;
pub use supervisor::{StartError, Supervisor};
