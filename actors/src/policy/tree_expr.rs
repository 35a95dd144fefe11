//! The expression half of the typed walk: every node kind an expression of a read may hold, each
//! destructured whole, and anything else refused (see `tree.rs`).

use super::tree::{kind_name, Inspector, Walker};
use super::PolicyViolation;
use pg_query::protobuf::{
    AArrayExpr, AExpr, AExprKind, AIndices, AIndirection, BoolExpr, BooleanTest, CaseExpr,
    CaseWhen, CoalesceExpr, CollateClause, ColumnRef, FuncCall, GroupingFunc, GroupingSet, List,
    MinMaxExpr, NamedArgExpr, NullTest, ResTarget, RowExpr, SortBy, SubLink, SubLinkType,
    WindowDef, XmlSerialize,
};
use pg_query::NodeEnum;

impl<I: Inspector> Walker<'_, I> {
    /// Every node kind that is not part of the FROM clause or a statement.
    pub(super) fn expression(&mut self, node: &NodeEnum) {
        match node {
            NodeEnum::ResTarget(target) => self.res_target(target),
            NodeEnum::ColumnRef(column) => self.column_ref(column),
            NodeEnum::FuncCall(call) => self.func_call(call),
            NodeEnum::AExpr(expression) => self.a_expr(expression),
            NodeEnum::TypeCast(cast) => self.type_cast(cast),
            NodeEnum::SubLink(link) => self.sub_link(link),
            NodeEnum::CaseExpr(case) => self.case(case),
            NodeEnum::CollateClause(collate) => self.collate(collate),
            NodeEnum::SortBy(sort) => self.sort_by(sort),
            NodeEnum::WindowDef(window) => self.window(window),
            NodeEnum::ColumnDef(column) => self.column_def(column),
            NodeEnum::TypeName(type_name) => self.type_name(type_name),
            NodeEnum::XmlExpr(xml) => self.xml(xml),
            NodeEnum::AIndirection(indirection) => self.indirection(indirection),
            NodeEnum::AConst(_)
            | NodeEnum::AStar(_)
            | NodeEnum::ParamRef(_)
            | NodeEnum::SqlvalueFunction(_)
            | NodeEnum::Integer(_)
            | NodeEnum::Float(_)
            | NodeEnum::Boolean(_)
            | NodeEnum::String(_)
            | NodeEnum::BitString(_) => {}
            simple if self.simple_expression(simple) => {}
            json if self.json(json) => {}
            other => self.inspector.refuse(PolicyViolation::Other(format!(
                "a {} node inside a query",
                kind_name(other)
            ))),
        }
    }

    /// Expressions that only hold other expressions; false for any other kind.
    fn simple_expression(&mut self, node: &NodeEnum) -> bool {
        match node {
            NodeEnum::BoolExpr(expression) => {
                let BoolExpr {
                    xpr,
                    boolop: _,
                    args,
                    location: _,
                } = &**expression;
                self.boxed(xpr);
                self.nodes(args);
            }
            NodeEnum::CoalesceExpr(expression) => {
                let CoalesceExpr {
                    xpr,
                    coalescetype: _,
                    coalescecollid: _,
                    args,
                    location: _,
                } = &**expression;
                self.boxed(xpr);
                self.nodes(args);
            }
            NodeEnum::MinMaxExpr(expression) => {
                let MinMaxExpr {
                    xpr,
                    minmaxtype: _,
                    minmaxcollid: _,
                    inputcollid: _,
                    op: _,
                    args,
                    location: _,
                } = &**expression;
                self.boxed(xpr);
                self.nodes(args);
            }
            NodeEnum::RowExpr(row) => {
                let RowExpr {
                    xpr,
                    args,
                    row_typeid: _,
                    row_format: _,
                    colnames,
                    location: _,
                } = &**row;
                self.boxed(xpr);
                self.nodes(args);
                self.nodes(colnames);
            }
            NodeEnum::NullTest(test) => {
                let NullTest {
                    xpr,
                    arg,
                    nulltesttype: _,
                    argisrow: _,
                    location: _,
                } = &**test;
                self.boxed(xpr);
                self.boxed(arg);
            }
            NodeEnum::BooleanTest(test) => {
                let BooleanTest {
                    xpr,
                    arg,
                    booltesttype: _,
                    location: _,
                } = &**test;
                self.boxed(xpr);
                self.boxed(arg);
            }
            NodeEnum::NamedArgExpr(named) => {
                let NamedArgExpr {
                    xpr,
                    arg,
                    name: _,
                    argnumber: _,
                    location: _,
                } = &**named;
                self.boxed(xpr);
                self.boxed(arg);
            }
            NodeEnum::CaseWhen(when) => {
                let CaseWhen {
                    xpr,
                    expr,
                    result,
                    location: _,
                } = &**when;
                for part in [xpr, expr, result] {
                    self.boxed(part);
                }
            }
            NodeEnum::AArrayExpr(array) => {
                let AArrayExpr {
                    elements,
                    list_start: _,
                    list_end: _,
                    location: _,
                } = array;
                self.nodes(elements);
            }
            NodeEnum::AIndices(indices) => {
                let AIndices {
                    is_slice: _,
                    lidx,
                    uidx,
                } = &**indices;
                self.boxed(lidx);
                self.boxed(uidx);
            }
            NodeEnum::GroupingSet(set) => {
                let GroupingSet {
                    kind: _,
                    content,
                    location: _,
                } = set;
                self.nodes(content);
            }
            NodeEnum::GroupingFunc(grouping) => {
                let GroupingFunc {
                    xpr,
                    args,
                    refs,
                    agglevelsup: _,
                    location: _,
                } = &**grouping;
                self.boxed(xpr);
                self.nodes(args);
                self.nodes(refs);
            }
            NodeEnum::List(list) => {
                let List { items } = list;
                self.nodes(items);
            }
            NodeEnum::XmlSerialize(serialize) => {
                let XmlSerialize {
                    xmloption: _,
                    expr,
                    type_name,
                    indent: _,
                    location: _,
                } = &**serialize;
                self.boxed(expr);
                if let Some(type_name) = type_name {
                    self.type_name(type_name);
                }
            }
            _ => return false,
        }
        true
    }

    fn res_target(&mut self, target: &ResTarget) {
        let ResTarget {
            name: _,
            indirection,
            val,
            location: _,
        } = target;
        self.nodes(indirection);
        self.boxed(val);
    }

    /// `a.b.c`: after the first name, every name may be a column, a field of a composite, or an
    /// attribute-notation call `c(a.b)`.
    fn column_ref(&mut self, column: &ColumnRef) {
        let ColumnRef {
            fields,
            location: _,
        } = column;
        self.inspector.column_ref(fields);
        for field in fields.iter().skip(1) {
            if let Some(NodeEnum::String(name)) = field.node.as_ref() {
                self.inspector.field_selection(&name.sval);
            }
        }
        self.nodes(fields);
    }

    fn indirection(&mut self, indirection: &AIndirection) {
        let AIndirection { arg, indirection } = indirection;
        self.boxed(arg);
        for step in indirection {
            if let Some(NodeEnum::String(name)) = step.node.as_ref() {
                self.inspector.field_selection(&name.sval);
            }
        }
        self.nodes(indirection);
    }

    fn func_call(&mut self, call: &FuncCall) {
        let FuncCall {
            funcname,
            args,
            agg_order,
            agg_filter,
            over,
            agg_within_group: _,
            agg_star: _,
            agg_distinct: _,
            func_variadic: _,
            funcformat: _,
            location: _,
        } = call;
        self.inspector.function_call(call);
        self.nodes(funcname);
        self.nodes(args);
        self.nodes(agg_order);
        self.boxed(agg_filter);
        if let Some(window) = over {
            self.window(window);
        }
    }

    /// Operators are functions too; BETWEEN is spelled as a keyword but compares with `<`-family
    /// operators found by name.
    fn a_expr(&mut self, expression: &AExpr) {
        let AExpr {
            kind: _,
            name,
            lexpr,
            rexpr,
            rexpr_list_start: _,
            rexpr_list_end: _,
            location: _,
        } = expression;
        match expression.kind() {
            AExprKind::AexprBetween
            | AExprKind::AexprNotBetween
            | AExprKind::AexprBetweenSym
            | AExprKind::AexprNotBetweenSym => {
                for operator in ["<", "<=", ">", ">="] {
                    self.inspector.implied_operator(operator);
                }
            }
            _ => self.inspector.operator(name),
        }
        self.boxed(lexpr);
        self.boxed(rexpr);
    }

    fn sub_link(&mut self, link: &SubLink) {
        let SubLink {
            xpr,
            sub_link_type: _,
            sub_link_id: _,
            testexpr,
            oper_name,
            subselect,
            location: _,
        } = link;
        if !oper_name.is_empty() {
            self.inspector.operator(oper_name);
        } else if link.sub_link_type() == SubLinkType::AnySublink {
            // `x IN (SELECT ...)` leaves the operator out: it is `=`, found by name.
            self.inspector.implied_operator("=");
        }
        self.boxed(xpr);
        self.boxed(testexpr);
        self.boxed(subselect);
    }

    /// `CASE x WHEN v` compares `x = v` with an operator found by name.
    fn case(&mut self, case: &CaseExpr) {
        let CaseExpr {
            xpr,
            casetype: _,
            casecollid: _,
            arg,
            args,
            defresult,
            location: _,
        } = case;
        if arg.is_some() {
            self.inspector.implied_operator("=");
        }
        self.boxed(xpr);
        self.boxed(arg);
        self.nodes(args);
        self.boxed(defresult);
    }

    pub(super) fn collate(&mut self, collate: &CollateClause) {
        let CollateClause {
            arg,
            collname,
            location: _,
        } = collate;
        self.boxed(arg);
        self.nodes(collname);
    }

    fn sort_by(&mut self, sort: &SortBy) {
        let SortBy {
            node,
            sortby_dir: _,
            sortby_nulls: _,
            use_op,
            location: _,
        } = sort;
        if !use_op.is_empty() {
            self.inspector.operator(use_op);
        }
        self.boxed(node);
    }

    pub(super) fn window(&mut self, window: &WindowDef) {
        let WindowDef {
            name: _,
            refname: _,
            partition_clause,
            order_clause,
            frame_options: _,
            start_offset,
            end_offset,
            location: _,
        } = window;
        self.nodes(partition_clause);
        self.nodes(order_clause);
        self.boxed(start_offset);
        self.boxed(end_offset);
    }
}
