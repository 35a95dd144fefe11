//! The statements one connection has prepared, by SQL text, so a repeated statement (every catalog
//! query, a control plane's usual queries) skips the parse round trip.

use super::trace::origins;
use crate::lru::Lru;
use crate::policy::lineage::Origin;
use crate::protocol::Column;
use postgres::Statement;

/// Statements kept per connection; the least recently used one goes first.
pub const CACHE_CAPACITY: usize = 64;

/// The relay's own catalog statements (a handful, all fixed text).
pub const CATALOG_CAPACITY: usize = 16;

/// Statements longer than this are not kept: they are rarely repeated and would hold memory.
pub const MAX_CACHED_SQL: usize = 8 * 1024;

/// A prepared statement and the columns its answer reports.
#[derive(Clone)]
pub struct Prepared {
    /// What runs: the statement itself, or its text-cast wrapper.
    pub statement: Statement,
    /// The columns as the statement itself describes them (names and type names before any
    /// text cast).
    pub columns: Vec<Column>,
    /// Whether the size guard's column follows the statement's own (see `text_casts`).
    pub size_guarded: bool,
    /// Where each column comes from, by the statement's own row description.
    pub origins: Vec<Origin>,
}

impl Prepared {
    /// What runs, described by the statement as the control plane wrote it.
    pub fn new(original: &Statement, runs: Statement, size_guarded: bool) -> Self {
        let columns = original
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                type_name: c.type_().name().to_owned(),
            })
            .collect();
        Prepared {
            statement: runs,
            columns,
            size_guarded,
            origins: origins(original),
        }
    }
}

/// The prepared statements of one connection. Dropping a `Statement` closes it on the server, so
/// an evicted entry also frees the server's copy.
pub struct StatementCache {
    /// Control-plane statements, possibly wrapped in text casts.
    queries: Lru<Prepared>,
    /// The relay's own catalog queries, run as written.
    catalog: Lru<Statement>,
    /// Set when a cached statement failed because the database changed under it (a table altered
    /// since it was prepared); the operation is then retried once with a fresh statement.
    stale: bool,
}

impl Default for StatementCache {
    fn default() -> Self {
        StatementCache {
            queries: Lru::new(CACHE_CAPACITY, MAX_CACHED_SQL),
            catalog: Lru::new(CATALOG_CAPACITY, MAX_CACHED_SQL),
            stale: false,
        }
    }
}

impl StatementCache {
    pub fn query(&mut self, sql: &str) -> Option<Prepared> {
        self.queries.get(sql)
    }

    pub fn keep_query(&mut self, sql: &str, prepared: Prepared) {
        self.queries.insert(sql, prepared);
    }

    pub fn catalog(&mut self, sql: &str) -> Option<Statement> {
        self.catalog.get(sql)
    }

    pub fn keep_catalog(&mut self, sql: &str, statement: Statement) {
        self.catalog.insert(sql, statement);
    }

    /// Forgets every statement after the database rejected one as out of date, and asks for a
    /// retry.
    pub fn mark_stale(&mut self) {
        self.queries.clear();
        self.catalog.clear();
        self.stale = true;
    }

    /// Whether a statement went stale since the last call.
    pub fn take_stale(&mut self) -> bool {
        std::mem::take(&mut self.stale)
    }
}

/// Whether a database error means a cached statement no longer fits the schema: PostgreSQL refuses
/// to run a prepared statement whose result columns changed (`cached plan must not change result
/// type`, SQLSTATE 0A000).
pub fn is_stale_statement(err: &postgres::Error) -> bool {
    err.as_db_error().is_some_and(|db| {
        db.code().code() == "0A000" && db.message().contains("cached plan must not change")
    })
}
