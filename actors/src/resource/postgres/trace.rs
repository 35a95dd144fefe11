//! Tracing a query's result columns to the protected columns they derive from: the row
//! description's table column for a column read straight from a table, the statement's parse-tree
//! lineage for a computed one, so that the masking applies a column's rule under any name.

use super::plan::refusal;
use crate::messages::{OperationError, OutputLineage};
use crate::policy::catalog::CatalogSnapshot;
use crate::policy::lineage::{column_sources, ColumnProtection, Origin, Target};
use crate::policy::{PolicyViolation, SqlPolicy, StatementKind};
use postgres::Statement;
use std::sync::Arc;

/// What tracing one statement's columns takes.
pub struct Tracing {
    kind: StatementKind,
    targets: Arc<Vec<Target>>,
    snapshot: Arc<CatalogSnapshot>,
    protection: Arc<dyn ColumnProtection>,
}

impl Tracing {
    /// The lineage of a statement that passed the policy (its verdict is remembered, so this
    /// costs no parse); a statement the current catalog no longer allows is refused.
    pub fn for_query(
        policy: &SqlPolicy,
        protection: &Arc<dyn ColumnProtection>,
        sql: &str,
    ) -> Result<Tracing, OperationError> {
        let checked = policy.check_query(sql).map_err(refusal)?;
        let snapshot = policy
            .catalog()
            .map_err(|reason| refusal(PolicyViolation::CatalogUnavailable(reason)))?;
        Ok(Tracing {
            kind: checked.kind,
            targets: checked.targets,
            snapshot,
            protection: Arc::clone(protection),
        })
    }

    /// What kind of statement it is.
    pub fn kind(&self) -> StatementKind {
        self.kind
    }

    /// The protected column each result column derives from.
    pub fn trace(&self, origins: &[Origin]) -> OutputLineage {
        let traced = column_sources(
            origins,
            &self.targets,
            &self.snapshot,
            self.protection.as_ref(),
        );
        if traced.iter().all(Option::is_none) {
            return OutputLineage::default();
        }
        OutputLineage {
            computed: traced
                .iter()
                .map(|t| t.as_ref().is_some_and(|(_, c)| *c))
                .collect(),
            columns: traced
                .into_iter()
                .map(|t| t.map(|(source, _)| source))
                .collect(),
            ..OutputLineage::default()
        }
    }
}

/// Where each column of a prepared statement comes from, by its row description.
pub fn origins(statement: &Statement) -> Vec<Origin> {
    statement
        .columns()
        .iter()
        .map(|column| column.table_oid().zip(column.column_id()))
        .collect()
}
