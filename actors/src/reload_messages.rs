//! The messages of a configuration reload: asking the supervisor to reload, and what it tells
//! the children whose settings changed.

use crate::masking::MaskingEngine;
use crate::protocol::Hello;
use actix::Message;
use relay_config::Audit;
use std::path::PathBuf;
use std::sync::Arc;

/// What made the relay read its configuration again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// The process received SIGHUP.
    Signal,
    /// The configuration file or the token file changed on disk.
    FileChanged,
}

impl ReloadTrigger {
    /// The name in logs and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadTrigger::Signal => "SIGHUP",
            ReloadTrigger::FileChanged => "fileChanged",
        }
    }
}

/// Anyone -> supervisor: read the configuration file again and apply it, or reject it whole.
#[derive(Message, Debug)]
#[rtype(result = "ReloadOutcome")]
pub struct ReloadConfig {
    pub trigger: ReloadTrigger,
}

/// What a reload did, and which token file the configuration in effect names (to watch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    pub applied: bool,
    pub token_file: Option<PathBuf>,
}

/// Supervisor -> resource: a reload removed or replaced this resource. It takes no more work,
/// reports no more health, and stops once what it is running has finished.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Retire;

/// Supervisor -> control plane: the resource list changed; send `hello` again on this session
/// (and on every later one).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct UpdateHello {
    pub hello: Hello,
}

/// Control plane -> supervisor: after a refusal, `controlPlane.tokenFile` held this new token,
/// which the next connection uses; the configuration in effect takes it, so that a reload that
/// finds the same token does not reconnect again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TokenReread {
    pub credential: relay_config::Secret,
}

/// Supervisor -> auditor: new audit settings or masking patterns; the chain goes on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure {
    pub settings: Audit,
    pub masking: Arc<MaskingEngine>,
}
