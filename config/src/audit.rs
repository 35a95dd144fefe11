//! The typed `audit` section: where audit records go and how much they say.

use serde::Deserialize;
use std::fmt;

use crate::lenient;

fn default_true() -> bool {
    true
}

fn default_spool_path() -> String {
    "/tmp/relay-audit-spool.jsonl".to_owned()
}

fn default_spool_max_records() -> u32 {
    10_000
}

/// `audit`: the audit log of every operation the relay serves and of its security events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Audit {
    /// `enabled`: write audit records. Default: true.
    #[serde(default = "default_true", deserialize_with = "lenient::boolean")]
    pub enabled: bool,
    /// `level`: `info` records everything; `warn` only refusals, failures and security events.
    /// Default: `info`.
    #[serde(default)]
    pub level: AuditLevel,
    /// `redactStatements`: record only a statement's fingerprint, not its (masked) text.
    /// Default: false.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub redact_statements: bool,
    /// `file`: also append records, one JSON object per line, to this file. Default: none.
    #[serde(default)]
    pub file: Option<String>,
    /// `controlPlane`: also send records to the control plane, spooling what it has not
    /// acknowledged. Default: true.
    #[serde(default = "default_true", deserialize_with = "lenient::boolean")]
    pub control_plane: bool,
    /// `spoolPath`: where unacknowledged records wait. Default: `/tmp/relay-audit-spool.jsonl`.
    #[serde(default = "default_spool_path")]
    pub spool_path: String,
    /// `spoolMaxRecords`: at most this many records wait; beyond, the oldest are dropped (and
    /// that is audited). Default: 10000, range 100..=1000000.
    #[serde(
        default = "default_spool_max_records",
        deserialize_with = "lenient::number"
    )]
    pub spool_max_records: u32,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            level: AuditLevel::Info,
            redact_statements: false,
            file: None,
            control_plane: true,
            spool_path: default_spool_path(),
            spool_max_records: default_spool_max_records(),
        }
    }
}

/// `audit.level`: the log level audit records are written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditLevel {
    /// `info` (the default).
    #[default]
    Info,
    /// `warn`.
    Warn,
}

/// The YAML spellings of [`AuditLevel`], in declaration order.
pub(crate) const AUDIT_LEVEL_NAMES: &[&str] = &["info", "warn"];

impl AuditLevel {
    /// The YAML spelling: `info` or `warn`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditLevel::Info => "info",
            AuditLevel::Warn => "warn",
        }
    }
}

impl fmt::Display for AuditLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
