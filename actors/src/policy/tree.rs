//! Walks the parse tree of one read and reports what the policy must judge: function calls,
//! operators (written or implied), type names, field selections (which may be attribute-notation
//! calls) and the relations it reads, with common table expressions told apart from relations.
//!
//! The walk is typed: every struct of a node kind that may appear in a read is destructured with all
//! of its fields named, so a parser upgrade that adds a field does not compile until the field is
//! walked, and a node kind not known to be part of a plain read is refused. Nothing is copied: the
//! walk visits the tree `pg_query` decoded, within a budget of nodes.

use super::PolicyViolation;
use pg_query::protobuf::{
    CommonTableExpr, CteCycleClause, CteSearchClause, LockClauseStrength, RangeVar, SelectStmt,
    WithClause,
};
use pg_query::{Node, NodeEnum};

/// What the walk reports; the policy's judgement lives in the implementor. Every hook does
/// nothing unless implemented, so an inspector that needs only some of them (lineage) implements
/// those.
pub(super) trait Inspector {
    fn function_call(&mut self, _call: &pg_query::protobuf::FuncCall) {}
    /// An operator by its name as written (`["="]`, `["s", "==="]`).
    fn operator(&mut self, _name: &[Node]) {}
    /// An operator a construct looks up by name without spelling it (`CASE x WHEN`, `USING`).
    fn implied_operator(&mut self, _name: &'static str) {}
    fn type_name(&mut self, _type_name: &pg_query::protobuf::TypeName) {}
    /// A string constant cast to a type (`'orders'::regclass`).
    fn literal_cast(&mut self, _literal: &str, _type_name: &pg_query::protobuf::TypeName) {}
    /// A name selected from a value (`t.name`, `(expr).name`): a column or field, or a call of a
    /// function `name(t)` in attribute notation.
    fn field_selection(&mut self, _name: &str) {}
    /// A column reference, whole (`a`, `t.a`, `t.*`).
    fn column_ref(&mut self, _fields: &[Node]) {}
    /// A nested SELECT (a sub-link or derived table); true when the inspector handled it itself
    /// and the walk should not descend into it.
    fn nested_select(&mut self, _select: &SelectStmt) -> bool {
        false
    }
    /// The table-sample method of `TABLESAMPLE method(...)`, a function found by name.
    fn sample_method(&mut self, _name: &[Node]) {}
    /// A relation the statement reads (not a common table expression).
    fn relation(&mut self, _relation: &RangeVar) {}
    fn refuse(&mut self, violation: PolicyViolation);
}

/// Nodes one statement may have before it is refused as too complex to check.
pub(super) const MAX_NODES: usize = 200_000;

pub(super) struct Walker<'i, I: Inspector> {
    pub(super) inspector: &'i mut I,
    /// Names of the common table expressions in scope, innermost last.
    pub(super) ctes: Vec<String>,
    nodes_left: usize,
}

impl<'i, I: Inspector> Walker<'i, I> {
    pub(super) fn new(inspector: &'i mut I) -> Self {
        Walker {
            inspector,
            ctes: Vec::new(),
            nodes_left: MAX_NODES,
        }
    }

    /// Walks the read at `root` (a `SelectStmt` node).
    pub(super) fn walk(mut self, root: &Node) {
        self.node(root);
    }

    pub(super) fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.node(node);
        }
    }

    pub(super) fn boxed(&mut self, node: &Option<Box<Node>>) {
        if let Some(node) = node {
            self.node(node);
        }
    }

    /// Counts one node against the budget; false once it is spent (refused once).
    pub(super) fn spend(&mut self) -> bool {
        match self.nodes_left {
            0 => false,
            1 => {
                self.nodes_left = 0;
                self.inspector
                    .refuse(PolicyViolation::TooComplex(MAX_NODES));
                false
            }
            _ => {
                self.nodes_left -= 1;
                true
            }
        }
    }

    pub(super) fn node(&mut self, node: &Node) {
        if !self.spend() {
            return;
        }
        let Some(inner) = node.node.as_ref() else {
            return;
        };
        match inner {
            NodeEnum::SelectStmt(select) => {
                if !self.inspector.nested_select(select) {
                    self.select(select);
                }
            }
            NodeEnum::InsertStmt(_) => self.writes("INSERT"),
            NodeEnum::UpdateStmt(_) => self.writes("UPDATE"),
            NodeEnum::DeleteStmt(_) => self.writes("DELETE"),
            NodeEnum::MergeStmt(_) => self.writes("MERGE"),
            NodeEnum::LockingClause(clause) => {
                let strength = lock_strength(clause.strength());
                self.inspector
                    .refuse(PolicyViolation::Clause(strength.to_owned()));
            }
            NodeEnum::RangeVar(relation) => self.range_var(relation),
            NodeEnum::JoinExpr(join) => self.join(join),
            NodeEnum::RangeSubselect(subselect) => self.range_subselect(subselect),
            NodeEnum::RangeFunction(function) => self.range_function(function),
            NodeEnum::RangeTableFunc(table) => self.range_table_func(table),
            NodeEnum::RangeTableFuncCol(column) => self.range_table_func_col(column),
            NodeEnum::RangeTableSample(sample) => self.range_table_sample(sample),
            NodeEnum::CommonTableExpr(cte) => self.common_table_expr(cte),
            NodeEnum::CtesearchClause(search) => self.cte_search(search),
            NodeEnum::CtecycleClause(cycle) => self.cte_cycle(cycle),
            NodeEnum::Alias(alias) => self.alias(alias),
            other => self.expression(other),
        }
    }

    fn writes(&mut self, verb: &str) {
        self.inspector
            .refuse(PolicyViolation::DataModifying(verb.to_owned()));
    }

    pub(super) fn select(&mut self, select: &SelectStmt) {
        let SelectStmt {
            distinct_clause,
            into_clause,
            target_list,
            from_clause,
            where_clause,
            group_clause,
            group_distinct: _,
            having_clause,
            window_clause,
            values_lists,
            sort_clause,
            limit_offset,
            limit_count,
            limit_option: _,
            locking_clause,
            with_clause,
            op: _,
            all: _,
            larg,
            rarg,
        } = select;
        // `SELECT ... INTO t` creates a table, in any arm of a set operation.
        if into_clause.is_some() {
            self.inspector
                .refuse(PolicyViolation::Clause("INTO".to_owned()));
        }
        let scope = self.ctes.len();
        if let Some(with) = with_clause {
            self.with_clause(with);
        }
        for list in [distinct_clause, target_list, from_clause, group_clause] {
            self.nodes(list);
        }
        self.boxed(where_clause);
        self.boxed(having_clause);
        for list in [window_clause, values_lists, sort_clause, locking_clause] {
            self.nodes(list);
        }
        self.boxed(limit_offset);
        self.boxed(limit_count);
        for arm in [larg, rarg].into_iter().flatten() {
            if self.spend() {
                self.select(arm);
            }
        }
        self.ctes.truncate(scope);
    }

    /// Walks the definitions of a `WITH` and leaves its names in scope for the rest of the
    /// statement. Without `RECURSIVE` a definition sees only the ones before it, so a later name
    /// used inside an earlier definition is the relation of that name, not the expression.
    fn with_clause(&mut self, with: &WithClause) {
        let WithClause {
            ctes,
            recursive,
            location: _,
        } = with;
        let names = ctes.iter().filter_map(|cte| match cte.node.as_ref() {
            Some(NodeEnum::CommonTableExpr(cte)) => Some(cte.ctename.clone()),
            _ => None,
        });
        if *recursive {
            self.ctes.extend(names);
            self.nodes(ctes);
            return;
        }
        for (cte, name) in ctes.iter().zip(names.collect::<Vec<_>>()) {
            self.node(cte);
            self.ctes.push(name);
        }
    }

    fn common_table_expr(&mut self, cte: &CommonTableExpr) {
        let CommonTableExpr {
            ctename: _,
            aliascolnames,
            ctematerialized: _,
            ctequery,
            search_clause,
            cycle_clause,
            location: _,
            cterecursive: _,
            cterefcount: _,
            ctecolnames,
            ctecoltypes,
            ctecoltypmods,
            ctecolcollations,
        } = cte;
        self.boxed(ctequery);
        if let Some(search) = search_clause {
            self.cte_search(search);
        }
        if let Some(cycle) = cycle_clause {
            self.cte_cycle(cycle);
        }
        for list in [
            aliascolnames,
            ctecolnames,
            ctecoltypes,
            ctecoltypmods,
            ctecolcollations,
        ] {
            self.nodes(list);
        }
    }

    fn cte_search(&mut self, search: &CteSearchClause) {
        let CteSearchClause {
            search_col_list,
            search_breadth_first: _,
            search_seq_column: _,
            location: _,
        } = search;
        self.nodes(search_col_list);
    }

    /// `CYCLE ... SET mark TO v DEFAULT d` compares marks with `=` and `<>` found by name.
    fn cte_cycle(&mut self, cycle: &CteCycleClause) {
        let CteCycleClause {
            cycle_col_list,
            cycle_mark_column: _,
            cycle_mark_value,
            cycle_mark_default,
            cycle_path_column: _,
            location: _,
            cycle_mark_type: _,
            cycle_mark_typmod: _,
            cycle_mark_collation: _,
            cycle_mark_neop: _,
        } = cycle;
        self.nodes(cycle_col_list);
        self.boxed(cycle_mark_value);
        self.boxed(cycle_mark_default);
        self.inspector.implied_operator("=");
        self.inspector.implied_operator("<>");
    }
}

fn lock_strength(strength: LockClauseStrength) -> &'static str {
    match strength {
        LockClauseStrength::LcsForkeyshare => "FOR KEY SHARE",
        LockClauseStrength::LcsForshare => "FOR SHARE",
        LockClauseStrength::LcsFornokeyupdate => "FOR NO KEY UPDATE",
        // FOR UPDATE itself, and the safe default for anything unrecognised.
        _ => "FOR UPDATE",
    }
}

/// The kind of a node as its protobuf type names it (`SetToDefault`), for refusals.
pub(super) fn kind_name(node: &NodeEnum) -> String {
    use std::fmt::Write;
    /// Keeps what `Debug` writes before the first `(`: a variant's name, without formatting the
    /// (possibly large) contents.
    struct UpToParenthesis(String);
    impl Write for UpToParenthesis {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            match text.find('(') {
                Some(at) => {
                    self.0.push_str(&text[..at]);
                    Err(std::fmt::Error)
                }
                None if self.0.len() + text.len() > 64 => Err(std::fmt::Error),
                None => {
                    self.0.push_str(text);
                    Ok(())
                }
            }
        }
    }
    let mut name = UpToParenthesis(String::new());
    let _ = write!(name, "{node:?}");
    name.0
}
