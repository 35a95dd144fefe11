//! Visits every node of a statement's parse tree and reports what would make it unsafe.
//!
//! `pg_query`'s own `nodes()` iterator is not used: it descends only into the fields its
//! table/function extraction needs and skips, among others, aggregate `FILTER`/`ORDER BY`, window
//! `OVER (...)`, `LIMIT`/`OFFSET`, `VALUES` lists, array subscripts, `DISTINCT ON`, `GROUP BY`
//! sets and every XML/JSON node, so a function hidden there would pass unseen. Instead the tree is
//! serialised with serde (every `pg_query` protobuf struct derives `Serialize`) and every value in
//! it is visited, so no field can be forgotten; node types not known to be part of a plain read
//! are refused, so a parser upgrade that adds one fails closed.

use serde_json::{Map, Value};

use super::functions::FunctionAllowList;
use super::PolicyViolation;

/// Node types that may appear inside a read-only query. Everything else found inside one (for
/// example `SetToDefault`, `MultiAssignRef`, `CurrentOfExpr`, `CallStmt`) is refused.
/// `FuncCall`, `AExpr`, `LockingClause` and the data-modifying statements are judged separately.
const READ_ONLY_NODE_KINDS: &[&str] = &[
    "AArrayExpr",
    "AConst",
    "AIndices",
    "AIndirection",
    "AStar",
    "Alias",
    "BitString",
    "BoolExpr",
    "Boolean",
    "BooleanTest",
    "CaseExpr",
    "CaseWhen",
    "CoalesceExpr",
    "CollateClause",
    "ColumnDef",
    "ColumnRef",
    "CommonTableExpr",
    "CtecycleClause",
    "CtesearchClause",
    "Float",
    "GroupingFunc",
    "GroupingSet",
    "Integer",
    "JoinExpr",
    "JsonAggConstructor",
    "JsonArgument",
    "JsonArrayAgg",
    "JsonArrayConstructor",
    "JsonArrayQueryConstructor",
    "JsonBehavior",
    "JsonFormat",
    "JsonFuncExpr",
    "JsonIsPredicate",
    "JsonKeyValue",
    "JsonObjectAgg",
    "JsonObjectConstructor",
    "JsonOutput",
    "JsonParseExpr",
    "JsonReturning",
    "JsonScalarExpr",
    "JsonSerializeExpr",
    "JsonTable",
    "JsonTableColumn",
    "JsonTablePathSpec",
    "JsonValueExpr",
    "List",
    "MinMaxExpr",
    "NamedArgExpr",
    "NullTest",
    "ParamRef",
    "RangeFunction",
    "RangeSubselect",
    "RangeTableFunc",
    "RangeTableFuncCol",
    "RangeTableSample",
    "RangeVar",
    "ResTarget",
    "RowExpr",
    "SelectStmt",
    "SortBy",
    "SqlvalueFunction",
    "String",
    "SubLink",
    "TypeCast",
    "TypeName",
    "WindowDef",
    "XmlExpr",
    "XmlSerialize",
];

/// Checks the tree of one read (a `SelectStmt` node serialised to JSON). When it holds several
/// problems the most severe is reported, so the answer does not depend on traversal order.
pub(super) fn check_read_tree(
    root: &Value,
    functions: &FunctionAllowList,
) -> Result<(), PolicyViolation> {
    let mut worst: Option<PolicyViolation> = None;
    // An explicit stack rather than recursion; pg_query's decoder already bounds the depth.
    let mut pending: Vec<&Value> = vec![root];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(fields) => {
                if let Some(found) = inspect_object(fields, functions) {
                    keep_most_severe(&mut worst, found);
                }
                pending.extend(fields.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    worst.map_or(Ok(()), Err)
}

/// The protobuf type name of a serialised `pg_query` `Node`, e.g. `"SelectStmt"`.
///
/// A `Node` serialises as `{"node": {"<Kind>": {...fields}}}`: exactly one key, `node`, holding
/// exactly one key. The only other struct with a field called `node` (`SortBy`) has further
/// fields beside it, so it is never mistaken for one.
pub(super) fn node_kind(fields: &Map<String, Value>) -> Option<(&str, &Value)> {
    if fields.len() != 1 {
        return None;
    }
    let Value::Object(inner) = fields.get("node")? else {
        return None;
    };
    if inner.len() != 1 {
        return None;
    }
    inner
        .iter()
        .next()
        .map(|(kind, node)| (kind.as_str(), node))
}

fn inspect_object(
    fields: &Map<String, Value>,
    functions: &FunctionAllowList,
) -> Option<PolicyViolation> {
    // `SELECT ... INTO t` creates a table. Only `SelectStmt` has an `into_clause` field, and the arms
    // of a UNION are stored as bare `SelectStmt` structs rather than tagged nodes, so the field is
    // looked for on every object (`SELECT 1 INTO t UNION SELECT 2` creates `t` too).
    if fields
        .get("into_clause")
        .is_some_and(|into| !into.is_null())
    {
        return Some(PolicyViolation::Clause("INTO".to_owned()));
    }
    let (kind, node) = node_kind(fields)?;
    inspect_node(kind, node, functions)
}

fn inspect_node(
    kind: &str,
    node: &Value,
    functions: &FunctionAllowList,
) -> Option<PolicyViolation> {
    let data_modifying = |verb: &str| Some(PolicyViolation::DataModifying(verb.to_owned()));
    match kind {
        "InsertStmt" => data_modifying("INSERT"),
        "UpdateStmt" => data_modifying("UPDATE"),
        "DeleteStmt" => data_modifying("DELETE"),
        "MergeStmt" => data_modifying("MERGE"),
        "LockingClause" => Some(PolicyViolation::Clause(lock_strength(node).to_owned())),
        "FuncCall" => check_function_call(node, functions),
        "AExpr" => check_operator(node),
        kind if READ_ONLY_NODE_KINDS.contains(&kind) => None,
        other => Some(PolicyViolation::Other(format!(
            "a {other} node inside a query"
        ))),
    }
}

fn check_function_call(call: &Value, functions: &FunctionAllowList) -> Option<PolicyViolation> {
    match string_list(call.get("funcname")) {
        Some(parts) if functions.allows(&parts) => None,
        Some(parts) => Some(PolicyViolation::Function(parts.join("."))),
        None => Some(PolicyViolation::Function("(unreadable name)".to_owned())),
    }
}

/// Operators are functions too. Built-in ones are unqualified or `OPERATOR(pg_catalog.op)`; one
/// spelled `OPERATOR(some_schema.op)` is somebody's own operator backed by an arbitrary function.
fn check_operator(expression: &Value) -> Option<PolicyViolation> {
    let Some(parts) = string_list(expression.get("name")) else {
        return Some(PolicyViolation::Other(
            "an operator with an unreadable name".to_owned(),
        ));
    };
    match parts.as_slice() {
        [_operator] | ["pg_catalog", _operator] => None,
        _ => Some(PolicyViolation::Other(format!(
            "operator {}",
            parts.join(".")
        ))),
    }
}

/// The values of a list of `String` nodes (a qualified name); `None` if any element is not one.
fn string_list(list: Option<&Value>) -> Option<Vec<&str>> {
    list?.as_array()?.iter().map(string_node_value).collect()
}

fn string_node_value(value: &Value) -> Option<&str> {
    value.get("node")?.get("String")?.get("sval")?.as_str()
}

fn lock_strength(locking_clause: &Value) -> &'static str {
    use pg_query::protobuf::LockClauseStrength;
    let strength = locking_clause
        .get("strength")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let strength = i32::try_from(strength)
        .ok()
        .and_then(|raw| LockClauseStrength::try_from(raw).ok());
    match strength {
        Some(LockClauseStrength::LcsForkeyshare) => "FOR KEY SHARE",
        Some(LockClauseStrength::LcsForshare) => "FOR SHARE",
        Some(LockClauseStrength::LcsFornokeyupdate) => "FOR NO KEY UPDATE",
        // FOR UPDATE itself, and the safe default for anything unrecognised.
        _ => "FOR UPDATE",
    }
}

fn keep_most_severe(worst: &mut Option<PolicyViolation>, found: PolicyViolation) {
    if worst
        .as_ref()
        .is_none_or(|current| severity(&found) < severity(current))
    {
        *worst = Some(found);
    }
}

/// Lower is worse: a write beats a row lock beats a function call beats anything else.
fn severity(violation: &PolicyViolation) -> u8 {
    match violation {
        PolicyViolation::DataModifying(_) => 0,
        PolicyViolation::Clause(_) => 1,
        PolicyViolation::Function(_) => 2,
        _ => 3,
    }
}
