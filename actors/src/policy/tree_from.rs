//! The FROM-clause half of the typed walk: relations (told apart from common table expressions),
//! joins (whose `USING` and `NATURAL` imply `=`), sub-selects, functions and table samples.

use super::tree::{Inspector, Walker};
use pg_query::protobuf::{
    Alias, JoinExpr, RangeFunction, RangeSubselect, RangeTableFunc, RangeTableFuncCol,
    RangeTableSample, RangeVar,
};

impl<I: Inspector> Walker<'_, I> {
    pub(super) fn range_var(&mut self, relation: &RangeVar) {
        let RangeVar {
            catalogname: _,
            schemaname,
            relname,
            inh: _,
            relpersistence: _,
            alias,
            location: _,
        } = relation;
        if let Some(alias) = alias {
            self.alias(alias);
        }
        let is_cte = schemaname.is_empty() && self.ctes.iter().any(|name| name == relname);
        if !is_cte {
            self.inspector.relation(relation);
        }
    }

    pub(super) fn alias(&mut self, alias: &Alias) {
        let Alias {
            aliasname: _,
            colnames,
        } = alias;
        self.nodes(colnames);
    }

    pub(super) fn join(&mut self, join: &JoinExpr) {
        let JoinExpr {
            jointype: _,
            is_natural,
            larg,
            rarg,
            using_clause,
            join_using_alias,
            quals,
            alias,
            rtindex: _,
        } = join;
        self.boxed(larg);
        self.boxed(rarg);
        self.nodes(using_clause);
        self.boxed(quals);
        for alias in [join_using_alias, alias].into_iter().flatten() {
            self.alias(alias);
        }
        // NATURAL and USING compare the joined columns with `=` found by name.
        if *is_natural || !using_clause.is_empty() {
            self.inspector.implied_operator("=");
        }
    }

    pub(super) fn range_subselect(&mut self, subselect: &RangeSubselect) {
        let RangeSubselect {
            lateral: _,
            subquery,
            alias,
        } = subselect;
        self.boxed(subquery);
        if let Some(alias) = alias {
            self.alias(alias);
        }
    }

    pub(super) fn range_function(&mut self, function: &RangeFunction) {
        let RangeFunction {
            lateral: _,
            ordinality: _,
            is_rowsfrom: _,
            functions,
            alias,
            coldeflist,
        } = function;
        self.nodes(functions);
        self.nodes(coldeflist);
        if let Some(alias) = alias {
            self.alias(alias);
        }
    }

    pub(super) fn range_table_func(&mut self, table: &RangeTableFunc) {
        let RangeTableFunc {
            lateral: _,
            docexpr,
            rowexpr,
            namespaces,
            columns,
            alias,
            location: _,
        } = table;
        self.boxed(docexpr);
        self.boxed(rowexpr);
        self.nodes(namespaces);
        self.nodes(columns);
        if let Some(alias) = alias {
            self.alias(alias);
        }
    }

    pub(super) fn range_table_func_col(&mut self, column: &RangeTableFuncCol) {
        let RangeTableFuncCol {
            colname: _,
            type_name,
            for_ordinality: _,
            is_not_null: _,
            colexpr,
            coldefexpr,
            location: _,
        } = column;
        if let Some(type_name) = type_name {
            self.type_name(type_name);
        }
        self.boxed(colexpr);
        self.boxed(coldefexpr);
    }

    pub(super) fn range_table_sample(&mut self, sample: &RangeTableSample) {
        let RangeTableSample {
            relation,
            method,
            args,
            repeatable,
            location: _,
        } = sample;
        self.boxed(relation);
        self.inspector.sample_method(method);
        self.nodes(args);
        self.boxed(repeatable);
    }
}
