//! The read-only SQL policy: decides, from PostgreSQL's own parse tree and the database's catalog,
//! whether a statement the control plane sent may run against the customer's database.
//!
//! This is layer 1 of three. Layer 2 runs the statement in a READ ONLY transaction with a
//! `statement_timeout`, layer 3 rolls every transaction back, so nothing carries over to the next
//! request (which holds only because this policy refuses whatever outlives a rollback:
//! `PREPARE`, `LISTEN`, advisory locks, temporary objects). A READ ONLY transaction does not
//! stop `pg_terminate_backend`, `set_config`, advisory locks, `lo_*`, `pg_read_file`, `pg_notify`,
//! `nextval`, `COPY ... TO PROGRAM`, `LOCK`, `DO`, `COMMIT`, nor anything a `SECURITY DEFINER`
//! function does through dblink or COPY, hence: exactly one SELECT / SHOW / EXPLAIN statement, no
//! data-modifying node anywhere in it, no row locks, no `INTO`, and no way to reach code that is
//! not a side-effect-free built-in or vouched for by the operator.
//!
//! PostgreSQL runs what name resolution picks, not what the text names, so names are judged with
//! the catalog ([`catalog::CatalogSnapshot`]): a function or operator name is allowed only when no
//! overload outside the built-ins could be chosen; `t.f` may be a call `f(t)`; a type name may run
//! the type's input function, a domain's CHECK or a user cast; and a relation may run its view
//! definition, row-level security policies or foreign-data wrapper. Map of the module:
//! `statements.rs` classifies the top-level statement, `tree*.rs` walk the parse tree (typed, every
//! field, within a node budget), `judge.rs` judges what the walk reports, `builtins.rs` holds the
//! reviewed lists of `pg_catalog` functions, `patterns.rs` the configuration's name patterns, and
//! `mongo.rs` is MongoDB's policy.

mod builtins;
pub mod catalog;
mod judge;
mod judge_relations;
pub mod lineage;
pub mod mongo;
pub mod mongo_lineage;
pub mod patterns;
mod statements;
mod tree;
mod tree_expr;
mod tree_from;
mod tree_json;
mod tree_types;

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod lineage_tests;
#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod tests;

use pg_query::protobuf::ParseResult;
use pg_query::{Node, ParserOptions};

use crate::lru::Lru;
pub use builtins::{
    allowed_names as allowed_builtin_names, classified_names, classify as classify_builtin, Builtin,
};
use catalog::CatalogSnapshot;
use judge::Judge;
pub use judge::Rules;
use statements::Classified;
use std::sync::{Arc, Mutex};

/// The policy for one resource: its rules, the catalog they are judged against, and the verdicts
/// already reached.
#[derive(Debug, Clone)]
pub struct SqlPolicy {
    rules: Arc<Rules>,
    allow_explain_analyze: bool,
    state: Arc<Mutex<PolicyState>>,
}

#[derive(Debug)]
struct PolicyState {
    /// The catalog as last read, or why it could not be read.
    catalog: Result<Arc<CatalogSnapshot>, CatalogUnreadable>,
    /// Bumped whenever the catalog changes, so no verdict outlives the catalog it was reached on.
    generation: u64,
    /// Verdicts by statement text: a verdict depends only on the text, the rules and the catalog,
    /// and a control plane repeats its statements (with new parameters) far more often than not.
    verdicts: Lru<Verdict>,
}

/// A statement's kind and the lineage of its outputs, or why it is refused.
type Verdict = Result<(StatementKind, Arc<Vec<lineage::Target>>), PolicyViolation>;

/// Verdicts remembered per resource.
const VERDICT_CACHE_CAPACITY: usize = 256;

/// Statements longer than this are checked every time rather than remembered.
const MAX_REMEMBERED_SQL: usize = 4096;

/// A statement that passed, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kind: StatementKind,
    /// What each entry of the select list reads of the protected columns (empty for SHOW and
    /// EXPLAIN, whose answers hold no table data).
    pub targets: Arc<Vec<lineage::Target>>,
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
    #[error("function {0} is not allowed: {reason}", reason = function_reason(.0))]
    Function(String),
    /// A name or object PostgreSQL could resolve to code the policy does not allow.
    #[error("{what} could run {object}, which is not allowed ({why}); vouch for it in allowedFunctions or allowedRelations if it is safe")]
    Reaches {
        what: String,
        object: String,
        why: String,
    },
    #[error("relation {0} is outside this resource's table scope")]
    NotAllowedRelation(String),
    #[error("EXPLAIN ANALYZE is not allowed on this resource")]
    ExplainAnalyze,
    #[error("the statement has more than {0} parse nodes, too many to check")]
    TooComplex(usize),
    #[error("the database's catalog could not be read, so no statement can be checked: {0}")]
    CatalogUnavailable(CatalogUnreadable),
    #[error("{0} is not allowed")]
    Other(String),
}

/// Why the database's catalog could not be read (the health check's reason), as logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CatalogUnreadable(pub String);

/// Why a function is refused, from its name as the statement wrote it.
fn function_reason(written: &str) -> String {
    let name = written.rsplit('.').next().unwrap_or(written);
    let builtin = !written.contains('.') || written.starts_with("pg_catalog.");
    match builtins::classify(name) {
        Some(Builtin::Refused(reason)) if builtin => format!("it {reason}"),
        Some(Builtin::Revealing) if builtin => {
            "it reveals relations outside this resource's table scope".to_owned()
        }
        _ => "it is not a built-in function the policy allows; vouch for it in allowedFunctions if it is safe".to_owned(),
    }
}

impl PolicyViolation {
    /// True when the statement was not valid SQL at all (an invalid request rather than a
    /// refused one).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            PolicyViolation::Syntax(_) | PolicyViolation::TooComplex(_)
        )
    }
}

impl SqlPolicy {
    /// A policy with `allowedFunctions` entries (`name` or `schema.name`, `*` wildcards) judged
    /// against a database without user-defined objects.
    pub fn new(extra_functions: &[String], allow_explain_analyze: bool) -> Self {
        let policy = Self::with_rules(
            Rules::new(extra_functions, &[], None),
            allow_explain_analyze,
        );
        policy.set_catalog(Ok(Arc::new(CatalogSnapshot::builtin_only())));
        policy
    }

    /// A policy that refuses every statement until [`Self::set_catalog`] gives it a catalog.
    pub fn with_rules(rules: Rules, allow_explain_analyze: bool) -> Self {
        SqlPolicy {
            rules: Arc::new(rules),
            allow_explain_analyze,
            state: Arc::new(Mutex::new(PolicyState {
                catalog: Err(CatalogUnreadable("it has not been read yet".to_owned())),
                generation: 0,
                verdicts: Lru::new(VERDICT_CACHE_CAPACITY, MAX_REMEMBERED_SQL),
            })),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the catalog; verdicts reached on another one are forgotten.
    pub fn set_catalog(&self, catalog: Result<Arc<CatalogSnapshot>, CatalogUnreadable>) {
        let mut state = self.state();
        let same = match (&state.catalog, &catalog) {
            (Ok(old), Ok(new)) => old == new,
            (Err(old), Err(new)) => old == new,
            _ => false,
        };
        if !same {
            state.catalog = catalog;
            state.generation += 1;
            state.verdicts.clear();
        }
    }

    /// The catalog the policy judges against, if it could be read.
    pub fn catalog(&self) -> Result<Arc<CatalogSnapshot>, CatalogUnreadable> {
        self.state().catalog.clone()
    }

    /// The verdict on `sql` if one was already reached on the current catalog: cheap, no parse.
    pub fn remembered(&self, sql: &str) -> Option<Result<Checked, PolicyViolation>> {
        let verdict = self.state().verdicts.get(sql)?;
        Some(verdict.map(|(kind, targets)| Checked { kind, targets }))
    }

    /// Checks one statement the control plane sent for `query`.
    pub fn check_query(&self, sql: &str) -> Result<Checked, PolicyViolation> {
        if let Some(verdict) = self.remembered(sql) {
            return verdict;
        }
        let (catalog, generation) = {
            let state = self.state();
            (state.catalog.clone(), state.generation)
        };
        let verdict = match catalog {
            Ok(catalog) => self.check_uncached(sql, &catalog),
            Err(reason) => return Err(PolicyViolation::CatalogUnavailable(reason)),
        };
        let mut state = self.state();
        if state.generation == generation {
            state.verdicts.insert(sql, verdict.clone());
        }
        verdict.map(|(kind, targets)| Checked { kind, targets })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PolicyState> {
        // A poisoned state still holds only complete values: each is replaced whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_uncached(&self, sql: &str, catalog: &CatalogSnapshot) -> Verdict {
        let checked = self.check_parsed_as(sql, ParserOptions::DEFAULT, catalog)?;
        if sql.contains('\\') {
            self.check_as_nonstandard_strings(sql, catalog)?;
        }
        Ok(checked)
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
    fn check_as_nonstandard_strings(
        &self,
        sql: &str,
        catalog: &CatalogSnapshot,
    ) -> Result<(), PolicyViolation> {
        let options = ParserOptions::DISABLE_STANDARD_CONFORMING_STRINGS;
        match self.check_parsed_as(sql, options, catalog) {
            Err(PolicyViolation::Syntax(_)) | Ok(_) => Ok(()),
            Err(violation) => Err(violation),
        }
    }

    fn check_parsed_as(
        &self,
        sql: &str,
        options: ParserOptions,
        catalog: &CatalogSnapshot,
    ) -> Verdict {
        let parsed = pg_query::parse(sql, options).map_err(syntax_violation)?;
        let statement = single_statement(&parsed.protobuf)?;
        match statements::classify(statement)? {
            Classified::Select(query) => {
                self.check_read(query, catalog)?;
                let targets = lineage::targets(query, catalog);
                Ok((StatementKind::Select, Arc::new(targets)))
            }
            Classified::Show => Ok((StatementKind::Show, Arc::default())),
            Classified::Explain { analyze, query } => {
                self.check_read(query, catalog)?;
                if analyze && !self.allow_explain_analyze {
                    return Err(PolicyViolation::ExplainAnalyze);
                }
                Ok((StatementKind::Explain { analyze }, Arc::default()))
            }
        }
    }

    fn check_read(&self, query: &Node, catalog: &CatalogSnapshot) -> Result<(), PolicyViolation> {
        let mut judge = Judge::new(catalog, &self.rules);
        tree::Walker::new(&mut judge).walk(query);
        judge.worst.map_or(Ok(()), Err)
    }
}

/// Keeps the most severe of the problems found, so the answer does not depend on walk order.
fn keep_most_severe(worst: &mut Option<PolicyViolation>, found: PolicyViolation) {
    if worst
        .as_ref()
        .is_none_or(|current| severity(&found) < severity(current))
    {
        *worst = Some(found);
    }
}

/// Lower is worse: a write beats a row lock beats running code beats anything else, and reading
/// outside the table scope comes last.
fn severity(violation: &PolicyViolation) -> u8 {
    match violation {
        PolicyViolation::DataModifying(_) => 0,
        PolicyViolation::Clause(_) => 1,
        PolicyViolation::Function(_) | PolicyViolation::Reaches { .. } => 2,
        PolicyViolation::NotAllowedRelation(_) => 4,
        _ => 3,
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
