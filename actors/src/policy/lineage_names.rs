//! Name resolution for column lineage: column references against the names in scope, stars,
//! the output names of sub-queries and CTEs, and set operations' outputs by position. Pure.

use super::{Analyzer, Env, Item, Sources, Target};
use crate::policy::judge::string_parts;
use crate::policy::tree::Inspector;
use crate::policy::PolicyViolation;
use pg_query::protobuf::{SelectStmt, SetOperation};
use pg_query::{Node, NodeEnum};

/// What an expression's walk finds: column references resolved against the scope, and the
/// outputs of nested selects.
pub(super) struct Collector<'a, 'b> {
    pub(super) analyzer: &'a Analyzer<'b>,
    pub(super) env: &'a Env,
    pub(super) sources: Sources,
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
pub(super) fn resolve(fields: &[Node], env: &Env) -> Sources {
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
pub(super) fn star_sources(fields: &[Node], env: &Env) -> Option<Sources> {
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

pub(super) fn everything(env: &Env) -> Sources {
    let mut all: Sources = env.scopes.iter().flatten().flat_map(Item::all).collect();
    for cte in &env.ctes {
        all.extend(cte.rest.iter().cloned());
        all.extend(cte.columns.iter().flat_map(|(_, s)| s.iter().cloned()));
    }
    all
}

/// The outputs of a derived table by name: the alias column list names them by position, else
/// each target's own name; what a star or an unnamed position reads counts for any name.
pub(super) fn named_outputs(
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
pub(super) fn target_names(query: &Node) -> Vec<Option<String>> {
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

pub(super) fn derived_name(value: Option<&Node>) -> Option<String> {
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

pub(super) fn renamed(
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

pub(super) fn alias_of(
    alias: Option<&pg_query::protobuf::Alias>,
    default: &str,
) -> (String, Vec<String>) {
    match alias {
        Some(alias) => (alias.aliasname.clone(), string_values(&alias.colnames)),
        None => (default.to_owned(), Vec::new()),
    }
}

pub(super) fn string_values(nodes: &[Node]) -> Vec<String> {
    string_parts(nodes)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

pub(super) fn union_positions(left: &[Target], right: &[Target]) -> Vec<Target> {
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
