//! Column lineage from the parse tree: for each output of a read, the protected table columns it
//! reads (through expressions, functions, aggregates, window functions, CASE, sub-queries, CTEs,
//! set operations, `*` and whole-row references), so that a column rule follows its column under
//! any name. Where a reference cannot be followed exactly it counts every protected column it
//! could mean (fail closed: too much is masked, never too little). Pure.

use super::catalog::{CatalogSnapshot, QualifiedName};
use super::judge::string_parts;
use super::tree::{Inspector, Walker};
use super::PolicyViolation;
use pg_query::protobuf::{ResTarget, SelectStmt, SetOperation};
use pg_query::{Node, NodeEnum};
use std::collections::BTreeSet;

/// A protected column an output reads: the index of its column rule and the column's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    pub rule: usize,
    pub column: String,
}

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
#[derive(Debug, Clone)]
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
        // A recursive reference reads what the anchor reads; two rounds carry it through.
        let rounds = if with.recursive { 2 } else { 1 };
        for _ in 0..rounds {
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
        if let Some(NodeEnum::ColumnRef(column)) = val.node.as_ref() {
            if let Some(star) = star_sources(&column.fields, env) {
                return Target::Star(star);
            }
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
                let mut items: Vec<Item> = [&join.larg, &join.rarg]
                    .into_iter()
                    .flatten()
                    .flat_map(|side| self.items_of(side, env))
                    .collect();
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
            return Item {
                alias,
                columns: Vec::new(),
                rest: Sources::new(),
            };
        };
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

/// What an expression's walk finds: column references resolved against the scope, and the
/// outputs of nested selects.
struct Collector<'a, 'b> {
    analyzer: &'a Analyzer<'b>,
    env: &'a Env,
    sources: Sources,
}

impl Inspector for Collector<'_, '_> {
    fn column_ref(&mut self, fields: &[Node]) {
        let found = resolve(fields, self.env);
        self.sources.extend(found);
    }

    fn nested_select(&mut self, select: &SelectStmt) -> bool {
        for target in self.analyzer.select(select, self.env) {
            self.sources.extend(target.sources().iter().cloned());
        }
        true
    }

    fn refuse(&mut self, _violation: PolicyViolation) {}
}

/// What a column reference reads. Qualified, it reads the named item's column; unqualified, any
/// item's column of that name, or the whole row of an item of that name.
fn resolve(fields: &[Node], env: &Env) -> Sources {
    if let Some(star) = star_sources(fields, env) {
        return star;
    }
    let Some(parts) = string_parts(fields) else {
        return everything(env);
    };
    let items = || env.scopes.iter().rev().flatten();
    match parts.as_slice() {
        [name] => items()
            .flat_map(|item| {
                let mut found = item.column(name);
                if item.alias == *name {
                    found.extend(item.all());
                }
                found
            })
            .collect(),
        [.., qualifier, column] => match items().find(|item| item.alias == *qualifier) {
            Some(item) => item.column(column),
            // `t.a.field`: `t` qualifies `a`; or an unknown qualifier: anything named so.
            None => {
                let by_second: Option<&Item> = parts
                    .first()
                    .and_then(|first| items().find(|item| item.alias == *first));
                match by_second {
                    Some(item) => item.column(parts.get(1).copied().unwrap_or_default()),
                    None => items().flat_map(|item| item.column(column)).collect(),
                }
            }
        },
        [] => Sources::new(),
    }
}

/// `*` or `t.*`: everything the named item (or every item of the innermost scope) reads.
fn star_sources(fields: &[Node], env: &Env) -> Option<Sources> {
    let last = fields.last()?;
    if !matches!(last.node.as_ref(), Some(NodeEnum::AStar(_))) {
        return None;
    }
    let qualifier = string_parts(&fields[..fields.len() - 1])?;
    let innermost = env.scopes.last().into_iter().flatten();
    Some(match qualifier.last() {
        None => innermost.flat_map(Item::all).collect(),
        Some(name) => env
            .scopes
            .iter()
            .rev()
            .flatten()
            .find(|item| item.alias == *name)
            .map_or_else(|| everything(env), Item::all),
    })
}

fn everything(env: &Env) -> Sources {
    let mut all: Sources = env.scopes.iter().flatten().flat_map(Item::all).collect();
    for cte in &env.ctes {
        all.extend(cte.rest.iter().cloned());
        all.extend(cte.columns.iter().flat_map(|(_, s)| s.iter().cloned()));
    }
    all
}

/// The outputs of a derived table by name: the alias column list names them by position, else
/// each target's own name; what a star or an unnamed position reads counts for any name.
fn named_outputs(
    targets: &[Target],
    names: Vec<String>,
    query: &Node,
) -> (Vec<(String, Sources)>, Sources) {
    let own_names = target_names(query);
    let has_star = targets.iter().any(|t| matches!(t, Target::Star(_)));
    let mut rest = Sources::new();
    let mut columns = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        match target {
            Target::Star(sources) => rest.extend(sources.iter().cloned()),
            Target::Expr(sources) if has_star && !names.is_empty() => {
                rest.extend(sources.iter().cloned())
            }
            Target::Expr(sources) => {
                let name = names
                    .get(index)
                    .or_else(|| own_names.get(index).and_then(Option::as_ref))
                    .cloned();
                match name {
                    Some(name) => columns.push((name, sources.clone())),
                    None => rest.extend(sources.iter().cloned()),
                }
            }
        }
    }
    (columns, rest)
}

/// The output names of a select's targets, as PostgreSQL derives them (alias, else the column
/// or function name), where they can be told.
fn target_names(query: &Node) -> Vec<Option<String>> {
    let mut select = match query.node.as_ref() {
        Some(NodeEnum::SelectStmt(select)) => &**select,
        _ => return Vec::new(),
    };
    while select.op() != SetOperation::SetopNone {
        match select.larg.as_deref() {
            Some(left) => select = left,
            None => return Vec::new(),
        }
    }
    select
        .target_list
        .iter()
        .map(|target| match target.node.as_ref() {
            Some(NodeEnum::ResTarget(target)) if !target.name.is_empty() => {
                Some(target.name.clone())
            }
            Some(NodeEnum::ResTarget(target)) => derived_name(target.val.as_deref()),
            _ => None,
        })
        .collect()
}

fn derived_name(value: Option<&Node>) -> Option<String> {
    match value?.node.as_ref()? {
        NodeEnum::ColumnRef(column) => string_parts(&column.fields)?
            .last()
            .map(|s| (*s).to_owned()),
        NodeEnum::FuncCall(call) => string_parts(&call.funcname)?
            .last()
            .map(|s| (*s).to_owned()),
        NodeEnum::TypeCast(cast) => derived_name(cast.arg.as_deref()),
        _ => None,
    }
}

fn renamed(
    columns: &[(String, Sources)],
    names: &[String],
    rest: &Sources,
) -> Vec<(String, Sources)> {
    if names.is_empty() {
        return columns.to_vec();
    }
    // A CTE renamed by its reference's alias list: positions of unnamed outputs are not kept,
    // so each renamed column may read anything the CTE reads.
    let all: Sources = columns
        .iter()
        .flat_map(|(_, s)| s.iter().cloned())
        .chain(rest.iter().cloned())
        .collect();
    names
        .iter()
        .map(|name| (name.clone(), all.clone()))
        .collect()
}

fn alias_of(alias: Option<&pg_query::protobuf::Alias>, default: &str) -> (String, Vec<String>) {
    match alias {
        Some(alias) => (alias.aliasname.clone(), string_values(&alias.colnames)),
        None => (default.to_owned(), Vec::new()),
    }
}

fn string_values(nodes: &[Node]) -> Vec<String> {
    string_parts(nodes)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn union_positions(left: &[Target], right: &[Target]) -> Vec<Target> {
    let stars = left
        .iter()
        .chain(right)
        .any(|t| matches!(t, Target::Star(_)));
    if stars {
        let all = left
            .iter()
            .chain(right)
            .flat_map(|t| t.sources().iter().cloned())
            .collect();
        return vec![Target::Star(all)];
    }
    (0..left.len().max(right.len()))
        .map(|index| {
            let mut sources = Sources::new();
            for side in [left, right] {
                if let Some(target) = side.get(index) {
                    sources.extend(target.sources().iter().cloned());
                }
            }
            Target::Expr(sources)
        })
        .collect()
}

/// How a source column is named in counts: `schema.table.column`.
pub fn column_label(relation: &QualifiedName, column: &str) -> String {
    format!("{relation}.{column}")
}

/// Which table columns the masking column rules protect, as the catalog snapshot needs to know.
pub trait ColumnProtection: Send + Sync {
    /// Whether some rule could protect a column of this name, in some relation.
    fn may_protect(&self, column: &str) -> bool;
    /// The first rule protecting `column` of `relation`.
    fn rule_for(&self, relation: &QualifiedName, column: &str) -> Option<usize>;
    /// The strictest of several rules (`redact` before the others).
    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize>;
}

/// No column rules at all.
pub struct Unprotected;

impl ColumnProtection for Unprotected {
    fn may_protect(&self, _column: &str) -> bool {
        false
    }

    fn rule_for(&self, _relation: &QualifiedName, _column: &str) -> Option<usize> {
        None
    }

    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize> {
        rules.min()
    }
}
