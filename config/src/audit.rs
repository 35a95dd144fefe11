//! The typed `audit` section: where audit records go and how much they say.

use serde::Deserialize;
use std::fmt;

use crate::lenient;

fn default_true() -> bool {
    true
}

fn default_spool_max_records() -> u32 {
    10_000
}

/// 32 MiB: half of the 64 MiB `/tmp` the deployment examples give the relay.
pub const DEFAULT_MAX_SPOOL_BYTES: u64 = 32 << 20;

/// 16 KiB of statement per record.
pub const DEFAULT_MAX_STATEMENT_BYTES: u32 = 16 << 10;

fn default_max_spool_bytes() -> u64 {
    DEFAULT_MAX_SPOOL_BYTES
}

fn default_max_statement_bytes() -> u32 {
    DEFAULT_MAX_STATEMENT_BYTES
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
    /// `spoolPath`: where unacknowledged records wait. Default: none, meaning
    /// `audit-spool.jsonl` in the relay's private instance directory under `/tmp/relay/`.
    #[serde(default)]
    pub spool_path: Option<String>,
    /// `spoolMaxRecords`: at most this many records wait; beyond, the oldest are dropped (and
    /// that is audited). Default: 10000, range 100..=1000000.
    #[serde(
        default = "default_spool_max_records",
        deserialize_with = "lenient::number"
    )]
    pub spool_max_records: u32,
    /// `maxSpoolBytes`: bytes the spool file may hold; when records waiting for acknowledgement
    /// fill it, operations are refused with `audit_unavailable`. Default: 33554432 (32 MiB),
    /// range 1048576..=1073741824, and at least 8 times `maxStatementBytes`.
    #[serde(
        default = "default_max_spool_bytes",
        deserialize_with = "lenient::number"
    )]
    pub max_spool_bytes: u64,
    /// `maxStatementBytes`: bytes of statement kept in a record; a longer one is cut and marked
    /// `statementTruncated` (its `statementSha256` covers the whole text). Default: 16384
    /// (16 KiB), range 1024..=1048576.
    #[serde(
        default = "default_max_statement_bytes",
        deserialize_with = "lenient::number"
    )]
    pub max_statement_bytes: u32,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            level: AuditLevel::Info,
            redact_statements: false,
            file: None,
            control_plane: true,
            spool_path: None,
            spool_max_records: default_spool_max_records(),
            max_spool_bytes: DEFAULT_MAX_SPOOL_BYTES,
            max_statement_bytes: DEFAULT_MAX_STATEMENT_BYTES,
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
