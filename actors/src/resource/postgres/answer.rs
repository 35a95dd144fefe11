//! Rows fetched from PostgreSQL made into an answer: decoded within the result's byte budget, up
//! to the row limit, refused when the size guard says the database stopped sending values; kept
//! as values, or masked and written as the answer's text as they are decoded.

use crate::domain::{Cell, MaskedRowWriter, RowMasking};
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

/// Once a result holds this many rows as values, they and every later row are masked as they are
/// written (when the resource was given the masking engine): for fewer, values cost less than a
/// writer, and the masker masks a few small rows on its own thread.
const WRITE_FROM_ROWS: usize = 32;

/// Where fetched rows go: kept as values (masked after), or, once the result is large, masked and
/// written as the answer's JSON text as they are decoded.
pub struct RowSink<'e> {
    masking: Option<&'e dyn RowMasking>,
    columns: Vec<Column>,
    lineage: OutputLineage,
    values: Vec<Vec<Value>>,
    writer: Option<Box<dyn MaskedRowWriter + 'e>>,
}

impl<'e> RowSink<'e> {
    pub fn new(
        masking: Option<&'e dyn RowMasking>,
        columns: Vec<Column>,
        lineage: OutputLineage,
    ) -> Self {
        RowSink {
            masking,
            columns,
            lineage,
            values: Vec::new(),
            writer: None,
        }
    }

    pub fn len(&self) -> usize {
        match &self.writer {
            Some(writer) => writer.rows(),
            None => self.values.len(),
        }
    }

    /// Once the values reach [`WRITE_FROM_ROWS`], hands them to a writer (masked as any cell)
    /// and writes the rest as they come.
    fn write_from_here(&mut self) {
        if self.values.len() < WRITE_FROM_ROWS {
            return;
        }
        let Some(engine) = self.masking.take() else {
            return;
        };
        let Some(mut writer) = engine.row_writer(&self.columns, &self.lineage) else {
            return;
        };
        for row in self.values.drain(..) {
            writer.begin_row();
            row.into_iter()
                .for_each(|value| writer.cell(Cell::Value(value)));
            writer.end_row();
        }
        self.writer = Some(writer);
    }

    /// The answer these rows make; written rows that cannot be sent fail it (closed).
    pub fn into_output(self, truncated: bool) -> Result<OperationOutput, OperationError> {
        let mut answer = output(self.columns, self.values, truncated);
        answer.lineage = self.lineage;
        if let Some(writer) = self.writer {
            let written = writer
                .finish()
                .map_err(|err| OperationError::new(ErrorCode::MaskingFailed, err.to_string()))?;
            answer.written = Some(Box::new(written));
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
    match rows.writer.as_mut() {
        Some(writer) => write_row(row, width, budget, writer.as_mut())?,
        None => {
            rows.values.push(decode_row(row, width, budget)?);
            rows.write_from_here();
        }
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
