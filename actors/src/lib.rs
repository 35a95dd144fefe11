//! The relay's actor system and the pure engines it uses.
//!
//! ```text
//!               Supervisor (supervisor/)
//!    ┌─────────────┼────────────────┬──────────────┐
//! ControlPlane  Resource (1 per db)  Masker        Auditor
//! control_plane/ resource/           masking/      audit/
//! ```
//! A `request` arrives at [`control_plane::ControlPlane`], which hands it to the
//! [`supervisor::Supervisor`]; [`pipeline`] runs it on the resource, masks the answer and audits it.
//! Wire types are in [`protocol`], actor messages in [`messages`]. Pure parts (protocol, backoff,
//! reassembly, masking engine, the [`in_flight`] tracker shutdown waits on) have no actix imports
//! and carry their unit tests.
#![forbid(unsafe_code)]

pub mod audit;
pub mod control_plane;
pub mod in_flight;
pub mod local_state;
pub mod lru;
pub mod masking;
pub mod messages;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod protocol;
pub mod reload_messages;
pub mod resource;
pub mod status_file;
pub mod supervisor;
pub mod time;
pub mod tls;
mod wire_enum;

pub use supervisor::{StartError, Supervisor};
