//! Rows fetched from PostgreSQL made into an answer: decoded within the result's byte budget, up
//! to the row limit, refused when the size guard says the database stopped sending values; kept
//! as values, or masked and written as the answer's text as they are decoded.

use crate::domain::{MaskedRowWriter, RowMasking};
use crate::messages::{OperationError, OperationOutput, OutputLineage};
use crate::protocol::{Column, ErrorCode};
use crate::resource::pg_values::budget::Budget;
use crate::resource::pg_values::{decode_cell_within, decode_within, DecodeError, RawCell};
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

/// Where fetched rows go: kept as values (masked after), or masked and written as the answer's
/// JSON text as they are decoded, when the resource was given the masking engine.
pub enum RowSink<'e> {
    Values(Vec<Vec<Value>>),
    Written(Box<dyn MaskedRowWriter + 'e>),
}

impl<'e> RowSink<'e> {
    pub fn new(
        masking: Option<&'e dyn RowMasking>,
        columns: &[Column],
        lineage: &OutputLineage,
    ) -> Self {
        match masking.and_then(|engine| engine.row_writer(columns, lineage)) {
            Some(writer) => RowSink::Written(writer),
            None => RowSink::Values(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RowSink::Values(rows) => rows.len(),
            RowSink::Written(writer) => writer.rows(),
        }
    }

    /// The answer these rows make; written rows that cannot be sent fail it (closed).
    pub fn into_output(
        self,
        columns: Vec<Column>,
        truncated: bool,
        lineage: OutputLineage,
    ) -> Result<OperationOutput, OperationError> {
        let mut answer = output(columns, Vec::new(), truncated);
        answer.lineage = lineage;
        match self {
            RowSink::Values(rows) => answer.rows = rows,
            RowSink::Written(writer) => {
                let written = writer.finish().map_err(|err| {
                    OperationError::new(ErrorCode::MaskingFailed, err.to_string())
                })?;
                answer.written = Some(Box::new(written));
            }
        }
        Ok(answer)
    }
}

/// Adds one fetched row to `rows` within the limits; false when the row limit was already
/// reached (the answer is truncated). A row the size guard emptied means the rows before it
/// passed the byte limit.
pub fn take_row(
    row: &Row,
    size_guarded: bool,
    max_rows: u32,
    max_bytes: u64,
    rows: &mut RowSink<'_>,
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
    match rows {
        RowSink::Values(rows) => rows.push(decode_row(row, width, budget)?),
        RowSink::Written(writer) => write_row(row, width, budget, writer.as_mut())?,
    }
    Ok(true)
}

pub fn output(columns: Vec<Column>, rows: Vec<Vec<Value>>, truncated: bool) -> OperationOutput {
    OperationOutput {
        written: None,
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
        let raw = raw_cell(row, index)?;
        let value =
            decode_within(column.type_(), raw, budget).map_err(|err| decode_failed(column, err))?;
        values.push(value);
    }
    Ok(values)
}

/// [`decode_row`] into the answer's text: each cell masked as it is written, text cells
/// borrowed from the row rather than copied into values first.
fn write_row(
    row: &Row,
    width: usize,
    budget: &mut Budget,
    writer: &mut dyn MaskedRowWriter,
) -> Result<(), OperationError> {
    writer.begin_row();
    for (index, column) in row.columns().iter().enumerate().take(width) {
        budget.charge(1).map_err(|over| too_large(over.limit))?;
        let raw = raw_cell(row, index)?;
        let cell = decode_cell_within(column.type_(), raw, budget)
            .map_err(|err| decode_failed(column, err))?;
        writer.cell(cell);
    }
    writer.end_row();
    Ok(())
}

fn raw_cell<'r>(row: &'r Row, index: usize) -> Result<Option<&'r [u8]>, OperationError> {
    let raw: RawCell<'r> = row.try_get(index).map_err(|err| {
        let name = row.columns().get(index).map_or("?", |column| column.name());
        OperationError::new(ErrorCode::Internal, format!("column {name}: {err}"))
    })?;
    Ok(raw.0)
}

fn decode_failed(column: &postgres::Column, err: DecodeError) -> OperationError {
    match err {
        DecodeError::TooLarge { limit } => too_large(limit),
        err => OperationError::new(
            ErrorCode::Internal,
            format!("column {}: {err}", column.name()),
        ),
    }
}
