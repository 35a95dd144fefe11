//! The read-only SQL policy: decides, from PostgreSQL's own parse tree, whether a statement the
//! control plane sent may run against the customer's database.
//!
//! This is layer 1 of three. Layer 2 runs the statement in a READ ONLY transaction with a
//! `statement_timeout`, layer 3 rolls every transaction back, so nothing carries over to the next
//! request (which holds only because this policy refuses whatever outlives a rollback:
//! `PREPARE`, `LISTEN`, advisory locks, temporary objects). A READ ONLY transaction does not
//! stop `pg_terminate_backend`, `set_config`, advisory locks, `lo_*`, `pg_read_file`, `pg_notify`,
//! `nextval`, `COPY ... TO PROGRAM`, `LOCK`, `DO`, `COMMIT` and friends, hence this allow-list:
//! exactly one SELECT / SHOW / EXPLAIN statement, no data-modifying node anywhere in it, no row
//! locks, no `INTO`, and only functions known to be side-effect free (plus configured extras).
//!
//! What a parser cannot see, and the lower layers must cover: functions called inside views or
//! rules the query reads from, user functions reached through attribute notation (`t.f` means
//! `f(t)`), type input functions of user-defined types, and built-ins shadowed by same-named
//! functions in a schema placed before `pg_catalog` on the `search_path`.

mod functions;
pub mod mongo;
mod statements;
mod walk;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

use pg_query::protobuf::ParseResult;
use pg_query::{Node, ParserOptions};

use crate::lru::Lru;
use functions::FunctionAllowList;
use statements::Classified;
use std::sync::{Arc, Mutex};

/// The policy for one resource: the built-in function allow-list plus configured extra functions.
#[derive(Debug, Clone)]
pub struct SqlPolicy {
    functions: FunctionAllowList,
    allow_explain_analyze: bool,
    /// Verdicts by statement text: a verdict depends only on the text and this policy, and a
    /// control plane repeats its statements (with new parameters) far more often than not.
    verdicts: Arc<Mutex<Lru<Result<StatementKind, PolicyViolation>>>>,
}

/// Verdicts remembered per resource.
const VERDICT_CACHE_CAPACITY: usize = 256;

/// Statements longer than this are checked every time rather than remembered.
const MAX_REMEMBERED_SQL: usize = 4096;

/// A statement that passed, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kind: StatementKind,
}

/// The kind of statement that passed the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// SELECT, VALUES, TABLE, WITH ... SELECT and set operations.
    Select,
    Show,
    Explain {
        analyze: bool,
    },
}

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("statement could not be parsed: {0}")]
    Syntax(String),
    #[error("exactly one statement is allowed, found {0}")]
    StatementCount(usize),
    #[error("{0} statements are not allowed")]
    StatementKind(String),
    #[error("data-modifying {0} inside a query is not allowed")]
    DataModifying(String),
    #[error("SELECT ... {0} is not allowed")]
    Clause(String),
    #[error("function {0} is not allowed")]
    Function(String),
    #[error("EXPLAIN ANALYZE is not allowed on this resource")]
    ExplainAnalyze,
    #[error("{0} is not allowed")]
    Other(String),
}

impl PolicyViolation {
    /// True when the statement was not valid SQL at all (an invalid request rather than a
    /// refused one).
    pub fn is_syntax(&self) -> bool {
        matches!(self, PolicyViolation::Syntax(_))
    }
}

impl SqlPolicy {
    /// `extra_functions`: lowercase `name` or `schema.name` entries from config (`allowedFunctions`).
    /// An unqualified entry allows only the unqualified call, a qualified one only the qualified call.
    pub fn new(extra_functions: &[String], allow_explain_analyze: bool) -> Self {
        SqlPolicy {
            functions: FunctionAllowList::new(extra_functions),
            allow_explain_analyze,
            verdicts: Arc::new(Mutex::new(Lru::new(
                VERDICT_CACHE_CAPACITY,
                MAX_REMEMBERED_SQL,
            ))),
        }
    }

    /// Checks one statement the control plane sent for `query`.
    pub fn check_query(&self, sql: &str) -> Result<Checked, PolicyViolation> {
        let remembered = self.verdicts().get(sql);
        let verdict = match remembered {
            Some(verdict) => verdict,
            None => {
                let verdict = self.check_uncached(sql);
                self.verdicts().insert(sql, verdict.clone());
                verdict
            }
        };
        verdict.map(|kind| Checked { kind })
    }

    fn verdicts(&self) -> std::sync::MutexGuard<'_, Lru<Result<StatementKind, PolicyViolation>>> {
        // A poisoned cache still holds only complete verdicts: each is inserted whole.
        self.verdicts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_uncached(&self, sql: &str) -> Result<StatementKind, PolicyViolation> {
        let kind = self.check_parsed_as(sql, ParserOptions::DEFAULT)?;
        if sql.contains('\\') {
            self.check_as_nonstandard_strings(sql)?;
        }
        Ok(kind)
    }

    /// Checks the statement given to the `explain` operation (the statement to be explained,
    /// without an EXPLAIN prefix): it must pass [`Self::check_query`] and be a
    /// SELECT/VALUES/TABLE/WITH, not SHOW or EXPLAIN.
    pub fn check_explainable(&self, sql: &str) -> Result<Checked, PolicyViolation> {
        let checked = self.check_query(sql)?;
        match checked.kind {
            StatementKind::Select => Ok(checked),
            StatementKind::Show => {
                Err(PolicyViolation::StatementKind("EXPLAIN of SHOW".to_owned()))
            }
            StatementKind::Explain { .. } => Err(PolicyViolation::StatementKind(
                "EXPLAIN of EXPLAIN".to_owned(),
            )),
        }
    }

    /// With `standard_conforming_strings` off (a server setting the relay does not control), a
    /// backslash escapes a quote, so `'x\' , $$'; DELETE FROM t; --$$` is one harmless SELECT to
    /// the default grammar and a SELECT followed by a DELETE to such a server. When the text holds
    /// a backslash it must therefore also pass when read that way. If it does not even parse that
    /// way, a server reading it so would reject it too, which is harmless.
    fn check_as_nonstandard_strings(&self, sql: &str) -> Result<(), PolicyViolation> {
        match self.check_parsed_as(sql, ParserOptions::DISABLE_STANDARD_CONFORMING_STRINGS) {
            Err(PolicyViolation::Syntax(_)) | Ok(_) => Ok(()),
            Err(violation) => Err(violation),
        }
    }

    fn check_parsed_as(
        &self,
        sql: &str,
        options: ParserOptions,
    ) -> Result<StatementKind, PolicyViolation> {
        let parsed = pg_query::parse(sql, options).map_err(syntax_violation)?;
        let statement = single_statement(&parsed.protobuf)?;
        match statements::classify(statement)? {
            Classified::Select(query) => {
                self.check_read(query)?;
                Ok(StatementKind::Select)
            }
            Classified::Show => Ok(StatementKind::Show),
            Classified::Explain { analyze, query } => {
                self.check_read(query)?;
                if analyze && !self.allow_explain_analyze {
                    return Err(PolicyViolation::ExplainAnalyze);
                }
                Ok(StatementKind::Explain { analyze })
            }
        }
    }

    fn check_read(&self, query: &Node) -> Result<(), PolicyViolation> {
        let tree = serde_json::to_value(query).map_err(|error| {
            PolicyViolation::Other(format!("a statement that cannot be inspected ({error})"))
        })?;
        walk::check_read_tree(&tree, &self.functions)
    }
}

/// The only statement of the text; comments and empty statements (`;;`) do not count.
fn single_statement(parsed: &ParseResult) -> Result<&Node, PolicyViolation> {
    let statements: Vec<&Node> = parsed
        .stmts
        .iter()
        .filter_map(|raw| raw.stmt.as_deref())
        .collect();
    match statements.as_slice() {
        [statement] => Ok(statement),
        _ => Err(PolicyViolation::StatementCount(statements.len())),
    }
}

fn syntax_violation(error: pg_query::Error) -> PolicyViolation {
    match error {
        pg_query::Error::Parse(message) => PolicyViolation::Syntax(message),
        pg_query::Error::Conversion(_) => {
            PolicyViolation::Syntax("the statement contains a NUL byte".to_owned())
        }
        // pg_query's protobuf decoder stops at 100 levels of nesting (e.g. ~50 chained `+`).
        pg_query::Error::Decode(_) => {
            PolicyViolation::Syntax("the statement is nested too deeply to check".to_owned())
        }
        other => PolicyViolation::Syntax(other.to_string()),
    }
}
