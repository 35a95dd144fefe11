//! Reads a resource's catalog snapshot (see `policy::catalog`) in one read-only transaction: the
//! search path, functions and operators outside the built-ins, the types whose use runs code (and
//! every type and table that holds one), and what reading each relation runs or reads.

use super::exec::catalog_query;
use super::snapshot_sql::*;
use super::statements::StatementCache;
use crate::messages::OperationError;
use crate::policy::allowed_builtin_names;
use crate::policy::catalog::{
    CatalogSnapshot, Code, Function, Operator, QualifiedName, Reach, Relation, RelationKind,
    TypeCode,
};
use crate::policy::lineage::ColumnProtection;
use crate::protocol::ErrorCode;
use postgres::{Row, Transaction};
use std::collections::HashMap;

/// Rounds of "which types hold these" before the snapshot is refused as too deeply nested.
const MAX_TYPE_NESTING: usize = 16;

/// The signature the health check compares before reading the whole snapshot again.
pub fn fingerprint(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
) -> Result<String, OperationError> {
    let rows = catalog_query(transaction, statements, FINGERPRINT_SQL, &[])?;
    let row = rows
        .first()
        .ok_or_else(|| unreadable("no fingerprint row"))?;
    row.try_get(0).map_err(failed)
}

/// Reads the whole snapshot.
pub fn load(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    protection: &dyn ColumnProtection,
) -> Result<CatalogSnapshot, OperationError> {
    let allowed: Vec<String> = allowed_builtin_names()
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    let search_path: Vec<String> = catalog_query(transaction, statements, SEARCH_PATH_SQL, &[])?
        .first()
        .ok_or_else(|| unreadable("no search path"))?
        .try_get(0)
        .map_err(failed)?;
    let mut snapshot = CatalogSnapshot {
        search_path,
        ..CatalogSnapshot::default()
    };
    for row in catalog_query(transaction, statements, FUNCTIONS_SQL, &[])? {
        let function = function(&row)?;
        let name = function.code.function.name.clone();
        snapshot.functions.entry(name).or_default().push(function);
    }
    for row in catalog_query(transaction, statements, OPERATORS_SQL, &[])? {
        let operator = Operator {
            name: QualifiedName::new(text(&row, 0)?, text(&row, 1)?),
            left: text(&row, 2)?,
            right: text(&row, 3)?,
            code: code(&row, 4)?,
        };
        let name = operator.name.name.clone();
        snapshot.operators.entry(name).or_default().push(operator);
    }
    let mut types = TypeClosure::default();
    for row in catalog_query(transaction, statements, TYPE_CODE_SQL, &[&allowed])? {
        types.seed(&row)?;
    }
    types.close(transaction, statements)?;
    let relations = relations(transaction, statements, &snapshot.search_path)?;
    let mut relations = RelationIndex { by_oid: relations };
    relations.add_code(transaction, statements, &allowed, &types)?;
    relations.add_column_types(&types);
    snapshot.guarded_domains = types.guarded_domains();
    snapshot.types = types.into_named();
    snapshot.oids = relations
        .by_oid
        .iter()
        .map(|(oid, (name, _))| (*oid, name.clone()))
        .collect();
    snapshot.relations = relations.into_named();
    snapshot.relations_complete = true;
    super::snapshot_protect::add_protected(transaction, statements, &mut snapshot, protection)?;
    Ok(snapshot)
}

fn function(row: &Row) -> Result<Function, OperationError> {
    Ok(Function {
        code: Code {
            function: QualifiedName::new(text(row, 0)?, text(row, 1)?),
            arguments: text(row, 2)?,
            builtin: false,
        },
        takes_one_argument: row.try_get(3).map_err(failed)?,
        volatility: text(row, 4)?.chars().next().unwrap_or('v'),
        security_definer: row.try_get(5).map_err(failed)?,
        language: text(row, 6)?,
        owner: text(row, 7)?,
        system: row.try_get(8).map_err(failed)?,
    })
}

/// The code columns starting at `at`: schema, name, arguments, built in.
fn code(row: &Row, at: usize) -> Result<Code, OperationError> {
    Ok(Code {
        function: QualifiedName::new(text(row, at)?, text(row, at + 1)?),
        arguments: text(row, at + 2)?,
        builtin: row.try_get(at + 3).map_err(failed)?,
    })
}

fn text(row: &Row, at: usize) -> Result<String, OperationError> {
    row.try_get(at).map_err(failed)
}

/// Types whose use runs code, by oid, grown until every type holding one is in.
#[derive(Default)]
struct TypeClosure {
    by_oid: HashMap<u32, (QualifiedName, TypeCode)>,
    /// Domains with a constraint that runs code, and types built on them.
    domains: Vec<u32>,
    /// Tables whose row type holds a type with coercion code: (table, how, reach).
    tables: Vec<(u32, Reach)>,
}

impl TypeClosure {
    fn seed(&mut self, row: &Row) -> Result<(), OperationError> {
        let oid: u32 = row.try_get(0).map_err(failed)?;
        let name = QualifiedName::new(text(row, 1)?, text(row, 2)?);
        let reach = Reach {
            via: text(row, 4)?,
            code: code(row, 5)?,
        };
        let entry = &mut self
            .by_oid
            .entry(oid)
            .or_insert_with(|| (name, TypeCode::default()))
            .1;
        match text(row, 3)?.as_str() {
            "io" => entry.io.push(reach),
            _ => {
                if reach.via.starts_with("its constraint") && !self.domains.contains(&oid) {
                    self.domains.push(oid);
                }
                entry.coercion.push(reach);
            }
        }
        Ok(())
    }

    /// Adds every type that holds one already known, round after round.
    fn close(
        &mut self,
        transaction: &mut Transaction<'_>,
        statements: &mut StatementCache,
    ) -> Result<(), OperationError> {
        let mut frontier: Vec<u32> = self.by_oid.keys().copied().collect();
        for _ in 0..MAX_TYPE_NESTING {
            if frontier.is_empty() {
                return Ok(());
            }
            let rows = catalog_query(transaction, statements, CONTAINING_TYPES_SQL, &[&frontier])?;
            frontier = Vec::new();
            for row in rows {
                if let Some(container) = self.hold(&row)? {
                    frontier.push(container);
                }
            }
            frontier.sort_unstable();
            frontier.dedup();
        }
        Err(unreadable("types nested too deeply to follow"))
    }

    /// Records that the row's container holds the row's type; the container's oid when it is new
    /// or gained code.
    fn hold(&mut self, row: &Row) -> Result<Option<u32>, OperationError> {
        let container: u32 = row.try_get(0).map_err(failed)?;
        let held: u32 = row.try_get(3).map_err(failed)?;
        let how = text(row, 4)?;
        let table: Option<u32> = row.try_get(5).map_err(failed)?;
        let Some((held_name, held_code)) = self.by_oid.get(&held).cloned() else {
            return Ok(None);
        };
        let wrap = |reach: &Reach| Reach {
            via: format!("{how} of type {held_name}, through {}", reach.via),
            code: reach.code.clone(),
        };
        if let Some(table) = table {
            self.tables
                .extend(held_code.coercion.iter().map(|r| (table, wrap(r))));
        }
        if self.domains.contains(&held) && !self.domains.contains(&container) {
            self.domains.push(container);
        }
        let name = QualifiedName::new(text(row, 1)?, text(row, 2)?);
        let is_new = !self.by_oid.contains_key(&container);
        let entry = &mut self
            .by_oid
            .entry(container)
            .or_insert_with(|| (name, TypeCode::default()))
            .1;
        let before = entry.io.len() + entry.coercion.len();
        for reach in &held_code.io {
            push_new(&mut entry.io, wrap(reach));
        }
        for reach in &held_code.coercion {
            push_new(&mut entry.coercion, wrap(reach));
        }
        let grew = entry.io.len() + entry.coercion.len() > before;
        Ok((is_new || grew).then_some(container))
    }

    fn guarded_domains(&self) -> Vec<QualifiedName> {
        let mut names: Vec<QualifiedName> = self
            .domains
            .iter()
            .filter_map(|oid| self.by_oid.get(oid).map(|(name, _)| name.clone()))
            .collect();
        names.sort();
        names
    }

    fn into_named(self) -> HashMap<QualifiedName, TypeCode> {
        self.by_oid.into_values().collect()
    }
}

fn push_new(reaches: &mut Vec<Reach>, reach: Reach) {
    if !reaches.iter().any(|known| known.code == reach.code) {
        reaches.push(reach);
    }
}

fn relations(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    search_path: &[String],
) -> Result<HashMap<u32, (QualifiedName, Relation)>, OperationError> {
    let rows = catalog_query(transaction, statements, RELATIONS_SQL, &[&search_path])?;
    let mut by_oid = HashMap::with_capacity(rows.len());
    for row in rows {
        let kind = match text(&row, 3)?.as_str() {
            "p" => RelationKind::PartitionedTable,
            "v" => RelationKind::View,
            "m" => RelationKind::MaterializedView,
            "f" => RelationKind::ForeignTable,
            _ => RelationKind::Table,
        };
        let oid: u32 = row.try_get(0).map_err(failed)?;
        let relation = Relation {
            oid,
            kind,
            system: row.try_get(4).map_err(failed)?,
            ..Relation::default()
        };
        let name = QualifiedName::new(text(&row, 1)?, text(&row, 2)?);
        by_oid.insert(oid, (name, relation));
    }
    Ok(by_oid)
}

struct RelationIndex {
    by_oid: HashMap<u32, (QualifiedName, Relation)>,
}

impl RelationIndex {
    /// What reading each relation runs or reads.
    fn add_code(
        &mut self,
        transaction: &mut Transaction<'_>,
        statements: &mut StatementCache,
        allowed: &Vec<String>,
        types: &TypeClosure,
    ) -> Result<(), OperationError> {
        let rows = catalog_query(transaction, statements, RELATION_CODE_SQL, &[allowed])?;
        let mut reads: Vec<(u32, u32)> = Vec::new();
        for row in rows {
            let relation: u32 = row.try_get(0).map_err(failed)?;
            let via = text(&row, 1)?;
            let read: Option<u32> = row.try_get(6).map_err(failed)?;
            let used_type: Option<u32> = row.try_get(7).map_err(failed)?;
            let runs = match (read, used_type) {
                (Some(read), _) => {
                    reads.push((relation, read));
                    continue;
                }
                (None, Some(used)) => type_reaches(types, used, &via),
                (None, None) => vec![Reach {
                    via,
                    code: code(&row, 2)?,
                }],
            };
            if let Some((_, entry)) = self.by_oid.get_mut(&relation) {
                entry.runs.extend(runs);
            }
        }
        for (relation, read) in reads {
            let name = self.by_oid.get(&read).map_or_else(
                || QualifiedName::new("", format!("relation with oid {read}")),
                |(name, _)| name.clone(),
            );
            if let Some((_, entry)) = self.by_oid.get_mut(&relation) {
                entry.reads.push(name);
            }
        }
        Ok(())
    }

    /// Tables with a column whose type runs code when a value is coerced to it.
    fn add_column_types(&mut self, types: &TypeClosure) {
        for (table, reach) in &types.tables {
            if let Some((_, entry)) = self.by_oid.get_mut(table) {
                push_new(&mut entry.runs, reach.clone());
            }
        }
    }

    fn into_named(self) -> HashMap<QualifiedName, Relation> {
        self.by_oid.into_values().collect()
    }
}

fn type_reaches(types: &TypeClosure, used: u32, via: &str) -> Vec<Reach> {
    let Some((name, code)) = types.by_oid.get(&used) else {
        return Vec::new();
    };
    code.io
        .iter()
        .chain(&code.coercion)
        .map(|reach| Reach {
            via: format!("{via}, which uses type {name} through {}", reach.via),
            code: reach.code.clone(),
        })
        .collect()
}

fn unreadable(what: &str) -> OperationError {
    OperationError::new(
        ErrorCode::ResourceUnavailable,
        format!("the catalog snapshot could not be read: {what}"),
    )
}

fn failed(err: postgres::Error) -> OperationError {
    unreadable(&format!("unexpected catalog value: {err}"))
}
