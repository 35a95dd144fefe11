//! The typed `resources[i]` entries: a database the relay serves, how to reach it, and what
//! may be done with it.

use serde::Deserialize;

use crate::connection::ResourceConnection;
pub use crate::engine::ResourceType;
pub(crate) use crate::engine::RESOURCE_TYPE_NAMES;
use crate::lenient;

/// `resources[i]`: one database the relay serves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    /// `id`: how the control plane names this resource; unique (ignoring case),
    /// `[a-z0-9][a-z0-9_-]{0,63}`, upper case letters allowed. Required.
    pub id: String,
    /// `type`: `postgres` or `mongodb`. Required.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// `name`: display name. Default: the id (see [`Resource::display_name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// `connection`: how to reach the database, with the keys of its engine. Required.
    pub connection: ResourceConnection,
    /// `allowedOperations`: what the control plane may ask for. Default: all four;
    /// non-empty, no duplicates.
    #[serde(default = "default_operations")]
    pub allowed_operations: Vec<Operation>,
    /// `maxRowsPerQuery`: rows; a result is cut after this many. Default 1000, range 1..=100000.
    #[serde(default = "default_max_rows", deserialize_with = "lenient::number")]
    pub max_rows_per_query: u32,
    /// `poolSize`: connections kept open to the database. Default 5, range 1..=5.
    #[serde(default = "default_pool_size", deserialize_with = "lenient::number")]
    pub pool_size: u32,
    /// `statementTimeoutMs`: milliseconds a statement may run. Default 30000, range 1..=3600000.
    #[serde(
        default = "default_statement_timeout",
        deserialize_with = "lenient::number"
    )]
    pub statement_timeout_ms: u64,
    /// `lockTimeoutMs`: milliseconds a statement may wait for a lock; 1..=statementTimeoutMs.
    /// Default: see [`Resource::lock_timeout_ms`]. Postgres only.
    #[serde(
        rename = "lockTimeoutMs",
        default,
        deserialize_with = "lenient::optional_number"
    )]
    pub lock_timeout: Option<u64>,
    /// `maxQueuedRequests`: requests waiting for a pooled connection before new ones are
    /// refused. Default 64, range 1..=10000.
    #[serde(default = "default_max_queued", deserialize_with = "lenient::number")]
    pub max_queued_requests: u32,
    /// `maxResultBytes`: bytes; a larger result is refused with `result_too_large`. Default
    /// 16777216 (16 MiB), range 1024..=268435456.
    #[serde(
        default = "default_max_result_bytes",
        deserialize_with = "lenient::number"
    )]
    pub max_result_bytes: u64,
    /// `allowedFunctions`: functions the operator vouches for, so the read-only policy lets a
    /// statement reach them (called by name, or through an operator, cast, type, domain, view or
    /// policy): `name` or `schema.name`, where `*` matches within a part; unquoted parts fold to
    /// lower case like SQL identifiers. Default empty. Postgres only.
    #[serde(default)]
    pub allowed_functions: Vec<String>,
    /// `allowedRelations`: relations whose definitions the operator vouches for (the functions a
    /// view, its row-level security policies or its foreign-data wrapper run, and the relations a
    /// view reads), `schema.name` patterns. Default empty. Postgres only.
    #[serde(default)]
    pub allowed_relations: Vec<String>,
    /// `tables`: which relations (postgres, `schema.table`) or collections (mongodb,
    /// `database.collection`) the resource may read. Default: everything the user can read.
    #[serde(default)]
    pub tables: Tables,
    /// `maxStatementBytes`: bytes; a longer statement is refused before it is parsed. Default
    /// 262144 (256 KiB), range 1024..=16777216.
    #[serde(
        default = "default_max_statement_bytes",
        deserialize_with = "lenient::number"
    )]
    pub max_statement_bytes: u64,
    /// `explainAnalyze`: allow `EXPLAIN ANALYZE` of pure reads. Default false.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub explain_analyze: bool,
    /// `allowPrivilegedUser`: serve even when the database user is a superuser. Default false.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub allow_privileged_user: bool,
}

impl Resource {
    /// The `name`, or the `id` when no name is set.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// `lockTimeoutMs` in effect: as set, else 2000 (or statementTimeoutMs when that is lower).
    pub fn lock_timeout_ms(&self) -> u64 {
        let default = DEFAULT_LOCK_TIMEOUT_MS.min(self.statement_timeout_ms);
        self.lock_timeout.unwrap_or(default)
    }
}

fn default_operations() -> Vec<Operation> {
    Operation::ALL.to_vec()
}
fn default_max_rows() -> u32 {
    1000
}
fn default_pool_size() -> u32 {
    5
}
fn default_statement_timeout() -> u64 {
    30_000
}
pub const DEFAULT_LOCK_TIMEOUT_MS: u64 = 2000;

fn default_max_queued() -> u32 {
    64
}
fn default_max_result_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_max_statement_bytes() -> u64 {
    256 * 1024
}

/// `resources[i].tables`: a resource's table scope. Deny wins; without `allow`, everything the
/// user can read and no pattern denies is in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tables {
    /// `allow`: patterns of what may be read; omitted, everything may. Non-empty when given.
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    /// `deny`: patterns of what may not be read, even when `allow` names it.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `resources[i].allowedOperations[j]`: a kind of request the control plane may send (a wire
/// name of the protocol, spelled once there).
pub use relay_protocol::Operation;

/// The YAML spellings of [`Operation`], in declaration order.
pub(crate) const OPERATION_NAMES: &[&str] = Operation::NAMES;

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
