//! The SQL/JSON part of the typed walk (`JSON_OBJECT`, `JSON_VALUE ... RETURNING`, `JSON_TABLE`,
//! ...): each node destructured whole, types named in `RETURNING` and column lists reported.

use super::tree::{Inspector, Walker};
use pg_query::protobuf::{
    JsonAggConstructor, JsonArgument, JsonArrayAgg, JsonArrayConstructor,
    JsonArrayQueryConstructor, JsonBehavior, JsonFuncExpr, JsonIsPredicate, JsonKeyValue,
    JsonObjectAgg, JsonObjectConstructor, JsonOutput, JsonParseExpr, JsonScalarExpr,
    JsonSerializeExpr, JsonTable, JsonTableColumn, JsonTablePathSpec, JsonValueExpr,
};
use pg_query::NodeEnum;

#[rustfmt::skip]
impl<I: Inspector> Walker<'_, I> {
    /// Walks a SQL/JSON node; false when the node is of another kind.
    pub(super) fn json(&mut self, node: &NodeEnum) -> bool {
        match node {
            NodeEnum::JsonFormat(_) | NodeEnum::JsonReturning(_) => {}
            NodeEnum::JsonOutput(output) => self.json_output(output),
            NodeEnum::JsonValueExpr(value) => self.json_value(value),
            NodeEnum::JsonBehavior(behavior) => self.json_behavior(behavior),
            NodeEnum::JsonArgument(argument) => {
                let JsonArgument { val, name: _ } = &**argument;
                self.json_value_opt(val);
            }
            NodeEnum::JsonKeyValue(pair) => self.json_key_value(pair),
            NodeEnum::JsonTablePathSpec(spec) => self.json_path_spec(spec),
            NodeEnum::JsonFuncExpr(function) => self.json_func(function),
            NodeEnum::JsonTable(table) => self.json_table(table),
            NodeEnum::JsonTableColumn(column) => self.json_table_column(column),
            NodeEnum::JsonIsPredicate(predicate) => {
                let JsonIsPredicate { expr, format: _, item_type: _, unique_keys: _, location: _ } =
                    &**predicate;
                self.boxed(expr);
            }
            NodeEnum::JsonParseExpr(parse) => {
                let JsonParseExpr { expr, output, unique_keys: _, location: _ } = &**parse;
                self.json_value_opt(expr);
                self.json_output_opt(output);
            }
            NodeEnum::JsonSerializeExpr(serialize) => {
                let JsonSerializeExpr { expr, output, location: _ } = &**serialize;
                self.json_value_opt(expr);
                self.json_output_opt(output);
            }
            NodeEnum::JsonScalarExpr(scalar) => {
                let JsonScalarExpr { expr, output, location: _ } = &**scalar;
                self.boxed(expr);
                self.json_output_opt(output);
            }
            NodeEnum::JsonObjectConstructor(constructor) => {
                let JsonObjectConstructor {
                    exprs, output, absent_on_null: _, unique: _, location: _,
                } = constructor;
                self.nodes(exprs);
                self.json_output_opt(output);
            }
            NodeEnum::JsonArrayConstructor(constructor) => {
                let JsonArrayConstructor { exprs, output, absent_on_null: _, location: _ } =
                    constructor;
                self.nodes(exprs);
                self.json_output_opt(output);
            }
            NodeEnum::JsonArrayQueryConstructor(constructor) => {
                let JsonArrayQueryConstructor {
                    query, output, format: _, absent_on_null: _, location: _,
                } = &**constructor;
                self.boxed(query);
                self.json_output_opt(output);
            }
            NodeEnum::JsonAggConstructor(constructor) => self.json_aggregate(constructor),
            NodeEnum::JsonObjectAgg(aggregate) => {
                let JsonObjectAgg { constructor, arg, absent_on_null: _, unique: _ } = &**aggregate;
                if let Some(constructor) = constructor {
                    self.json_aggregate(constructor);
                }
                if let Some(pair) = arg {
                    self.json_key_value(pair);
                }
            }
            NodeEnum::JsonArrayAgg(aggregate) => {
                let JsonArrayAgg { constructor, arg, absent_on_null: _ } = &**aggregate;
                if let Some(constructor) = constructor {
                    self.json_aggregate(constructor);
                }
                self.json_value_opt(arg);
            }
            _ => return false,
        }
        true
    }

    /// `RETURNING type`: the value is coerced to the type, running its input and CHECK code.
    fn json_output(&mut self, output: &JsonOutput) {
        let JsonOutput {
            type_name,
            returning: _,
        } = output;
        if let Some(type_name) = type_name {
            self.type_name(type_name);
        }
    }

    fn json_output_opt(&mut self, output: &Option<JsonOutput>) {
        if let Some(output) = output {
            self.json_output(output);
        }
    }

    fn json_value(&mut self, value: &JsonValueExpr) {
        let JsonValueExpr {
            raw_expr,
            formatted_expr,
            format: _,
        } = value;
        self.boxed(raw_expr);
        self.boxed(formatted_expr);
    }

    fn json_value_opt(&mut self, value: &Option<Box<JsonValueExpr>>) {
        if let Some(value) = value {
            if self.spend() {
                self.json_value(value);
            }
        }
    }

    fn json_behavior(&mut self, behavior: &JsonBehavior) {
        let JsonBehavior {
            btype: _,
            expr,
            coerce: _,
            location: _,
        } = behavior;
        self.boxed(expr);
    }

    fn json_behavior_opt(&mut self, behavior: &Option<Box<JsonBehavior>>) {
        if let Some(behavior) = behavior {
            self.json_behavior(behavior);
        }
    }

    fn json_key_value(&mut self, pair: &JsonKeyValue) {
        let JsonKeyValue { key, value } = pair;
        self.boxed(key);
        self.json_value_opt(value);
    }

    fn json_path_spec(&mut self, spec: &JsonTablePathSpec) {
        let JsonTablePathSpec {
            string,
            name: _,
            name_location: _,
            location: _,
        } = spec;
        self.boxed(string);
    }

    fn json_func(&mut self, function: &JsonFuncExpr) {
        let JsonFuncExpr {
            op: _,
            column_name: _,
            context_item,
            pathspec,
            passing,
            output,
            on_empty,
            on_error,
            wrapper: _,
            quotes: _,
            location: _,
        } = function;
        self.json_value_opt(context_item);
        self.boxed(pathspec);
        self.nodes(passing);
        self.json_output_opt(output);
        self.json_behavior_opt(on_empty);
        self.json_behavior_opt(on_error);
    }

    fn json_table(&mut self, table: &JsonTable) {
        let JsonTable {
            context_item,
            pathspec,
            passing,
            columns,
            on_error,
            alias,
            lateral: _,
            location: _,
        } = table;
        self.json_value_opt(context_item);
        if let Some(spec) = pathspec {
            self.json_path_spec(spec);
        }
        self.nodes(passing);
        self.nodes(columns);
        self.json_behavior_opt(on_error);
        if let Some(alias) = alias {
            self.alias(alias);
        }
    }

    fn json_table_column(&mut self, column: &JsonTableColumn) {
        let JsonTableColumn {
            coltype: _,
            name: _,
            type_name,
            pathspec,
            format: _,
            wrapper: _,
            quotes: _,
            columns,
            on_empty,
            on_error,
            location: _,
        } = column;
        if let Some(type_name) = type_name {
            self.type_name(type_name);
        }
        if let Some(spec) = pathspec {
            self.json_path_spec(spec);
        }
        self.nodes(columns);
        self.json_behavior_opt(on_empty);
        self.json_behavior_opt(on_error);
    }

    fn json_aggregate(&mut self, constructor: &JsonAggConstructor) {
        let JsonAggConstructor {
            output,
            agg_filter,
            agg_order,
            over,
            location: _,
        } = constructor;
        self.json_output_opt(output);
        self.boxed(agg_filter);
        self.nodes(agg_order);
        if let Some(window) = over {
            self.window(window);
        }
    }
}
