//! Turns a request's params into an operation for a PostgreSQL resource: parsed, sized, and judged
//! by the read-only policy at once when the verdict is remembered, else marked for a check off the
//! actor thread (a parse may take milliseconds; a remembered verdict takes microseconds).

use crate::messages::OperationError;
use crate::policy::{Checked, PolicyViolation, SqlPolicy, StatementKind};
use crate::protocol::ErrorCode;
use relay_config::Operation;
use serde_json::Value;

/// An operation whose parameters were parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedOperation {
    Query {
        sql: String,
        params: Vec<Value>,
        check: Option<PendingCheck>,
    },
    ListTables {
        schema: Option<String>,
    },
    DescribeTable {
        table: String,
        schema: Option<String>,
    },
    Explain {
        sql: String,
        check: Option<PendingCheck>,
        /// `ANALYZE`: the statement runs, not only its plan.
        analyze: bool,
    },
}

impl PlannedOperation {
    /// The policy check still to run, if any.
    pub fn pending_check(&self) -> Option<&PendingCheck> {
        match self {
            PlannedOperation::Query { check, .. } | PlannedOperation::Explain { check, .. } => {
                check.as_ref()
            }
            _ => None,
        }
    }
}

/// A statement the policy has not judged yet.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingCheck {
    Query(String),
    /// The statement to explain, and the whole `EXPLAIN` that will run.
    Explain {
        inner: String,
        full: String,
    },
}

impl PendingCheck {
    /// Runs the check (parses; may take a while for a long statement).
    pub fn run(&self, policy: &SqlPolicy) -> Result<(), PolicyViolation> {
        match self {
            PendingCheck::Query(sql) => policy.check_query(sql).map(drop),
            PendingCheck::Explain { inner, full } => {
                explainable(policy.check_query(inner))?;
                policy.check_query(full).map(drop)
            }
        }
    }
}

/// Parses the request's params, judging what the policy remembers.
pub fn plan(
    policy: &SqlPolicy,
    max_statement_bytes: u64,
    operation: Operation,
    params: &Value,
) -> Result<PlannedOperation, OperationError> {
    match operation {
        Operation::Query => {
            let sql = statement(params, max_statement_bytes)?;
            let params = match params.get("params") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(values)) => values.clone(),
                Some(_) => return Err(invalid("params.params must be an array")),
            };
            let check = match policy.remembered(&sql) {
                Some(verdict) => verdict.map(drop).map_err(refusal).map(|()| None)?,
                None => Some(PendingCheck::Query(sql.clone())),
            };
            Ok(PlannedOperation::Query { sql, params, check })
        }
        Operation::ListTables => Ok(PlannedOperation::ListTables {
            schema: optional_string(params, "schema")?,
        }),
        Operation::DescribeTable => Ok(PlannedOperation::DescribeTable {
            table: required_string(params, "table")?,
            schema: optional_string(params, "schema")?,
        }),
        Operation::Explain => plan_explain(policy, max_statement_bytes, params),
    }
}

fn plan_explain(
    policy: &SqlPolicy,
    max_statement_bytes: u64,
    params: &Value,
) -> Result<PlannedOperation, OperationError> {
    let sql = statement(params, max_statement_bytes)?;
    let format = optional_string(params, "format")?.unwrap_or_else(|| "json".to_owned());
    if !matches!(format.as_str(), "json" | "text") {
        return Err(invalid("params.format must be \"json\" or \"text\""));
    }
    let analyze = match params.get("analyze") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err(invalid("params.analyze must be a boolean")),
    };
    let options = if analyze { ", ANALYZE" } else { "" };
    let explain = format!("EXPLAIN (FORMAT {}{options})\n{sql}", format.to_uppercase());
    // The full EXPLAIN is checked too: this is where ANALYZE is refused unless allowed.
    let check = match (policy.remembered(&sql), policy.remembered(&explain)) {
        (Some(inner), Some(full)) => {
            explainable(inner).map_err(refusal)?;
            full.map_err(refusal)?;
            None
        }
        _ => Some(PendingCheck::Explain {
            inner: sql,
            full: explain.clone(),
        }),
    };
    Ok(PlannedOperation::Explain {
        sql: explain,
        check,
        analyze,
    })
}

/// Only a SELECT/VALUES/TABLE/WITH may be explained, not SHOW or EXPLAIN.
fn explainable(verdict: Result<Checked, PolicyViolation>) -> Result<(), PolicyViolation> {
    match verdict?.kind {
        StatementKind::Select => Ok(()),
        StatementKind::Show => Err(PolicyViolation::StatementKind("EXPLAIN of SHOW".to_owned())),
        StatementKind::Explain { .. } => Err(PolicyViolation::StatementKind(
            "EXPLAIN of EXPLAIN".to_owned(),
        )),
    }
}

/// `params.sql`, refused unread when longer than the resource allows.
fn statement(params: &Value, max_statement_bytes: u64) -> Result<String, OperationError> {
    let sql = required_string(params, "sql")?;
    if sql.len() as u64 > max_statement_bytes {
        return Err(invalid(&format!(
            "params.sql is {} bytes, more than this resource's maxStatementBytes ({max_statement_bytes})",
            sql.len()
        )));
    }
    Ok(sql)
}

/// A refused statement as a wire error.
pub fn refusal(violation: PolicyViolation) -> OperationError {
    let code = match &violation {
        violation if violation.is_syntax() => ErrorCode::InvalidRequest,
        PolicyViolation::NotAllowedRelation(_) => ErrorCode::NotAllowedRelation,
        PolicyViolation::CatalogUnavailable(_) => ErrorCode::ResourceUnavailable,
        _ => ErrorCode::NotReadOnly,
    };
    OperationError::new(code, violation.to_string())
}

fn invalid(message: &str) -> OperationError {
    OperationError::new(ErrorCode::InvalidRequest, message)
}

fn required_string(params: &Value, key: &str) -> Result<String, OperationError> {
    optional_string(params, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            invalid(&format!(
                "params.{key} is required and must be a non-empty string"
            ))
        })
}

fn optional_string(params: &Value, key: &str) -> Result<Option<String>, OperationError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(&format!("params.{key} must be a string"))),
    }
}
