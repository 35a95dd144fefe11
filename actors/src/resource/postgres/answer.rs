//! Rows fetched from PostgreSQL made into an answer: decoded within the result's byte budget, up
//! to the row limit, refused when the size guard says the database stopped sending values.

use crate::messages::{OperationError, OperationOutput};
use crate::protocol::{Column, ErrorCode};
use crate::resource::pg_values::budget::Budget;
use crate::resource::pg_values::{decode_within, DecodeError, RawCell};
use postgres::{Row, Statement};
use serde_json::Value;

/// Refuses a parameter list that does not fit the statement.
pub fn check_parameters(statement: &Statement, params: &[Value]) -> Result<(), OperationError> {
    if statement.params().len() == params.len() {
        return Ok(());
    }
    Err(OperationError::new(
        ErrorCode::InvalidRequest,
        format!(
            "statement takes {} parameter(s), {} given",
            statement.params().len(),
            params.len()
        ),
    ))
}

/// Adds one fetched row to `rows` within the limits; false when the row limit was already
/// reached (the answer is truncated). A row the size guard emptied means the rows before it
/// passed the byte limit.
pub fn take_row(
    row: &Row,
    size_guarded: bool,
    max_rows: u32,
    max_bytes: u64,
    rows: &mut Vec<Vec<Value>>,
    budget: &mut Budget,
) -> Result<bool, OperationError> {
    if rows.len() == max_rows as usize {
        return Ok(false);
    }
    let mut width = row.len();
    if size_guarded {
        width -= 1;
        if row.try_get::<_, Option<bool>>(width).ok().flatten() != Some(false) {
            return Err(too_large(max_bytes));
        }
    }
    rows.push(decode_row(row, width, budget)?);
    Ok(true)
}

pub fn output(columns: Vec<Column>, rows: Vec<Vec<Value>>, truncated: bool) -> OperationOutput {
    OperationOutput {
        columns,
        rows,
        truncated,
        details: None,
        lineage: Default::default(),
    }
}

pub fn too_large(limit: u64) -> OperationError {
    OperationError::new(
        ErrorCode::ResultTooLarge,
        format!("result exceeds maxResultBytes ({limit} bytes); select fewer columns or rows"),
    )
}

/// Decodes the first `width` values of a row within what is left of the result's budget (each
/// value and its separator).
fn decode_row(row: &Row, width: usize, budget: &mut Budget) -> Result<Vec<Value>, OperationError> {
    let mut values = Vec::with_capacity(width);
    for (index, column) in row.columns().iter().enumerate().take(width) {
        budget.charge(1).map_err(|over| too_large(over.limit))?;
        let raw: RawCell<'_> = row.try_get(index).map_err(|err| {
            OperationError::new(
                ErrorCode::Internal,
                format!("column {}: {err}", column.name()),
            )
        })?;
        let value = decode_within(column.type_(), raw.0, budget).map_err(|err| match err {
            DecodeError::TooLarge { limit } => too_large(limit),
            err => OperationError::new(
                ErrorCode::Internal,
                format!("column {}: {err}", column.name()),
            ),
        })?;
        values.push(value);
    }
    Ok(values)
}
