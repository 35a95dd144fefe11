//! Column lineage from the parse tree: for each output of a read, the protected table columns it
//! reads (through expressions, functions, aggregates, window functions, CASE, sub-queries, CTEs,
//! set operations, `*` and whole-row references), so that a column rule follows its column under
//! any name. Where a reference cannot be followed exactly it counts every protected column it
//! could mean (fail closed: too much is masked, never too little). Pure.

use super::catalog::{CatalogSnapshot, QualifiedName};
use super::tree::Walker;
pub use crate::domain::Source;
use pg_query::protobuf::{ResTarget, SelectStmt, SetOperation};
use pg_query::{Node, NodeEnum};
use std::collections::BTreeSet;

pub type Sources = BTreeSet<Source>;

/// One entry of a read's select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `*` or `t.*`: as many outputs as the relations it expands, together reading these.
    Star(Sources),
    /// One output reading these.
    Expr(Sources),
}

impl Target {
    pub fn sources(&self) -> &Sources {
        match self {
            Target::Star(sources) | Target::Expr(sources) => sources,
        }
    }
}

/// Rounds of a recursive WITH followed before every CTE of it counts as reading everything.
const MAX_ROUNDS: usize = 64;

/// How deep sub-queries are followed before the rest counts as reading everything in scope.
const MAX_DEPTH: usize = 32;

/// A FROM item as a name in scope resolves to it.
#[derive(Debug, Clone)]
struct Item {
    alias: String,
    /// Outputs by name.
    columns: Vec<(String, Sources)>,
    /// What a name not in `columns` reads (a function's outputs, a star's).
    rest: Sources,
}

impl Item {
    fn column(&self, name: &str) -> Sources {
        match self.columns.iter().find(|(column, _)| column == name) {
            Some((_, sources)) => sources.clone(),
            None => self.rest.clone(),
        }
    }

    fn all(&self) -> Sources {
        let mut all = self.rest.clone();
        for (_, sources) in &self.columns {
            all.extend(sources.iter().cloned());
        }
        all
    }
}

/// A common table expression's outputs by name, and what its unnamed outputs read.
#[derive(Debug, Clone, PartialEq)]
struct Cte {
    name: String,
    columns: Vec<(String, Sources)>,
    rest: Sources,
}

/// The names in scope, innermost last, and the common table expressions.
#[derive(Debug, Clone, Default)]
struct Env {
    scopes: Vec<Vec<Item>>,
    ctes: Vec<Cte>,
    depth: usize,
}

/// The lineage of a read (a `SelectStmt` node).
pub fn targets(root: &Node, catalog: &CatalogSnapshot) -> Vec<Target> {
    match root.node.as_ref() {
        Some(NodeEnum::SelectStmt(select)) => Analyzer { catalog }.select(select, &Env::default()),
        _ => Vec::new(),
    }
}

struct Analyzer<'a> {
    catalog: &'a CatalogSnapshot,
}

impl Analyzer<'_> {
    fn select(&self, select: &SelectStmt, outer: &Env) -> Vec<Target> {
        let mut env = outer.clone();
        env.depth += 1;
        if env.depth > MAX_DEPTH {
            return vec![Target::Star(everything(outer))];
        }
        if let Some(with) = &select.with_clause {
            self.with(with, &mut env);
        }
        if select.op() != SetOperation::SetopNone {
            let arms = [&select.larg, &select.rarg].map(|arm| {
                arm.as_deref()
                    .map(|arm| self.select(arm, &env))
                    .unwrap_or_default()
            });
            return union_positions(&arms[0], &arms[1]);
        }
        env.scopes.push(Vec::new());
        for item in &select.from_clause {
            let items = self.items_of(item, &env);
            if let Some(scope) = env.scopes.last_mut() {
                scope.extend(items);
            }
        }
        if !select.values_lists.is_empty() {
            return self.values(&select.values_lists, &env);
        }
        select
            .target_list
            .iter()
            .map(|target| self.target(target, &env))
            .collect()
    }

    fn with(&self, with: &pg_query::protobuf::WithClause, env: &mut Env) {
        // A recursive reference reads what the anchor reads, and a column may move to another
        // one per round (and a CTE may read one defined after it): rounds repeat until nothing
        // changes, within a bound past which everything counts.
        let rounds = if with.recursive { MAX_ROUNDS } else { 1 };
        for round in 0..rounds {
            let before = env.ctes.clone();
            for cte in &with.ctes {
                let Some(NodeEnum::CommonTableExpr(cte)) = cte.node.as_ref() else {
                    continue;
                };
                let Some(query) = cte.ctequery.as_deref() else {
                    continue;
                };
                let targets = match query.node.as_ref() {
                    Some(NodeEnum::SelectStmt(select)) => self.select(select, env),
                    _ => Vec::new(),
                };
                let names = string_values(&cte.aliascolnames);
                let (columns, rest) = named_outputs(&targets, names, query);
                env.ctes.retain(|known| known.name != cte.ctename);
                env.ctes.push(Cte {
                    name: cte.ctename.clone(),
                    columns,
                    rest,
                });
            }
            if env.ctes == before {
                return;
            }
            if round + 1 == MAX_ROUNDS {
                let all = everything(env);
                for cte in &mut env.ctes {
                    cte.rest.extend(all.iter().cloned());
                    cte.columns.clear();
                }
            }
        }
    }

    fn values(&self, rows: &[Node], env: &Env) -> Vec<Target> {
        let mut positions: Vec<Sources> = Vec::new();
        for row in rows {
            if let Some(NodeEnum::List(list)) = row.node.as_ref() {
                for (index, value) in list.items.iter().enumerate() {
                    let sources = self.expression(value, env);
                    match positions.get_mut(index) {
                        Some(known) => known.extend(sources),
                        None => positions.push(sources),
                    }
                }
            }
        }
        positions.into_iter().map(Target::Expr).collect()
    }

    fn target(&self, target: &Node, env: &Env) -> Target {
        let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
            return Target::Expr(self.expression(target, env));
        };
        let ResTarget { val, .. } = &**target;
        let Some(val) = val.as_deref() else {
            return Target::Expr(Sources::new());
        };
        match val.node.as_ref() {
            Some(NodeEnum::ColumnRef(column)) => {
                if let Some(star) = star_sources(&column.fields, env) {
                    return Target::Star(star);
                }
            }
            // `(x).*`: as many outputs as the composite has fields.
            Some(NodeEnum::AIndirection(indirection))
                if indirection
                    .indirection
                    .last()
                    .is_some_and(|last| matches!(last.node, Some(NodeEnum::AStar(_)))) =>
            {
                return Target::Star(self.expression(val, env));
            }
            _ => {}
        }
        Target::Expr(self.expression(val, env))
    }

    /// Every protected column an expression reads, sub-queries included.
    fn expression(&self, node: &Node, env: &Env) -> Sources {
        let mut collector = Collector {
            analyzer: self,
            env,
            sources: Sources::new(),
        };
        Walker::new(&mut collector).walk(node);
        collector.sources
    }

    fn items_of(&self, node: &Node, env: &Env) -> Vec<Item> {
        match node.node.as_ref() {
            Some(NodeEnum::RangeVar(relation)) => vec![self.relation(relation, env)],
            Some(NodeEnum::RangeSubselect(subselect)) => {
                let targets = match subselect.subquery.as_deref().and_then(|q| q.node.as_ref()) {
                    Some(NodeEnum::SelectStmt(select)) => self.select(select, env),
                    _ => Vec::new(),
                };
                let (alias, names) = alias_of(subselect.alias.as_ref(), "");
                let query = subselect.subquery.as_deref();
                let (columns, rest) = match query {
                    Some(query) => named_outputs(&targets, names, query),
                    None => (Vec::new(), Sources::new()),
                };
                vec![Item {
                    alias,
                    columns,
                    rest,
                }]
            }
            Some(NodeEnum::JoinExpr(join)) => {
                let mut items: Vec<Item> = join
                    .larg
                    .as_deref()
                    .map(|left| self.items_of(left, env))
                    .unwrap_or_default();
                // The right side may be LATERAL: the left side's names are in scope for it.
                let mut inner = env.clone();
                if let Some(scope) = inner.scopes.last_mut() {
                    scope.extend(items.iter().cloned());
                }
                if let Some(right) = join.rarg.as_deref() {
                    items.extend(self.items_of(right, &inner));
                }
                if let Some(alias) = &join.alias {
                    let all = items.iter().flat_map(Item::all).collect();
                    items.push(Item {
                        alias: alias.aliasname.clone(),
                        columns: Vec::new(),
                        rest: all,
                    });
                }
                items
            }
            Some(NodeEnum::RangeTableSample(sample)) => sample
                .relation
                .as_deref()
                .map(|relation| self.items_of(relation, env))
                .unwrap_or_default(),
            // A function, XMLTABLE or JSON_TABLE: every output reads what its arguments read.
            Some(other) => {
                let (alias, _) = match other {
                    NodeEnum::RangeFunction(f) => alias_of(f.alias.as_ref(), ""),
                    NodeEnum::RangeTableFunc(f) => alias_of(f.alias.as_ref(), ""),
                    NodeEnum::JsonTable(f) => alias_of(f.alias.as_ref(), ""),
                    _ => (String::new(), Vec::new()),
                };
                let rest = self.expression(node, env);
                vec![Item {
                    alias,
                    columns: Vec::new(),
                    rest,
                }]
            }
            None => Vec::new(),
        }
    }

    fn relation(&self, relation: &pg_query::protobuf::RangeVar, env: &Env) -> Item {
        let (alias, names) = alias_of(relation.alias.as_ref(), &relation.relname);
        if relation.schemaname.is_empty() {
            if let Some(cte) = env
                .ctes
                .iter()
                .rev()
                .find(|cte| cte.name == relation.relname)
            {
                return Item {
                    alias,
                    columns: renamed(&cte.columns, &names, &cte.rest),
                    rest: cte.rest.clone(),
                };
            }
        }
        let schema = (!relation.schemaname.is_empty()).then_some(relation.schemaname.as_str());
        let protected = self
            .catalog
            .resolve_relation(schema, &relation.relname)
            .map(|(name, found)| (name, found.protected.clone()));
        let Some((name, protected)) = protected else {
            let named = QualifiedName::new(schema.unwrap_or("pg_catalog"), &relation.relname);
            if is_statistics_view(&named) {
                return statistics_item(alias, &names, self.catalog);
            }
            return Item {
                alias,
                columns: Vec::new(),
                rest: Sources::new(),
            };
        };
        if is_statistics_view(&name) {
            return statistics_item(alias, &names, self.catalog);
        }
        let columns = protected
            .iter()
            .map(|column| {
                let source = Source {
                    rule: column.rule,
                    column: column_label(&name, &column.name),
                };
                (column.name.clone(), Sources::from([source]))
            })
            .collect();
        // Renamed by an alias column list: positions are not known here, so a renamed column
        // may read any protected column of the relation.
        if names.is_empty() {
            Item {
                alias,
                columns,
                rest: Sources::new(),
            }
        } else {
            let all: Sources = columns
                .iter()
                .flat_map(|(_, s): &(String, Sources)| s.clone())
                .collect();
            Item {
                alias,
                columns: Vec::new(),
                rest: all,
            }
        }
    }
}

#[path = "lineage_statistics.rs"]
mod statistics;
pub use statistics::is_statistics_view;
use statistics::statistics_item;

#[path = "lineage_names.rs"]
mod names;
#[path = "lineage_output.rs"]
mod output;
use names::*;
pub use output::*;
