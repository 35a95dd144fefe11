//! Result rows masked as they are written: each cell is masked as it is decoded and goes straight
//! into the JSON text of the answer's rows, so a large result is never held as values, masked in
//! place and serialized again. Each cell is masked exactly as [`MaskingEngine::mask_traced_rows`]
//! masks it as a value; only where the text goes differs.

use super::scan::{return_caches, take_caches, ScanState, Scanner};
use super::values::ColumnPlan;
use super::MaskingEngine;
use crate::domain::{Cell, MaskedRowWriter, MaskingError, OutputLineage, RowMasking, WrittenRows};
use crate::json_text;
use crate::protocol::{Column, MaskedCounts};
use serde_json::Value;

/// Masks and writes one result's rows, cell by cell, in order.
struct RowWriter<'e> {
    engine: &'e MaskingEngine,
    plans: Vec<ColumnPlan<'e>>,
    /// Handed from one cell's scanner to the next; `None` only while a cell is scanned.
    state: Option<ScanState>,
    counts: MaskedCounts,
    json: String,
    /// A masked text cell, before it is written (its buffer kept from cell to cell).
    masked: String,
    rows: usize,
    /// Cells written in the row being written.
    cells: usize,
    /// Why a cell could not be written: the whole answer then fails (closed).
    failed: Option<String>,
}

/// Each writer masks a cell by its column's plan, as [`MaskingEngine::mask_traced_rows`] masks it
/// as a value. None when the lineage names document fields: those are masked by their path
/// through a whole document.
impl RowMasking for MaskingEngine {
    fn row_writer<'e>(
        &'e self,
        columns: &[Column],
        lineage: &OutputLineage,
    ) -> Option<Box<dyn MaskedRowWriter + 'e>> {
        if !lineage.fields.is_empty() {
            return None;
        }
        let state = ScanState {
            caches: take_caches(self),
            scoped: lineage.scoped_rules.clone(),
        };
        Some(Box::new(RowWriter {
            engine: self,
            plans: self.plan_columns(columns, lineage),
            state: Some(state),
            counts: MaskedCounts::default(),
            json: String::from("["),
            masked: String::new(),
            rows: 0,
            cells: 0,
            failed: None,
        }))
    }
}

impl MaskedRowWriter for RowWriter<'_> {
    fn rows(&self) -> usize {
        self.rows
    }

    fn begin_row(&mut self) {
        if self.rows > 0 {
            self.json.push(',');
        }
        self.json.push('[');
        self.cells = 0;
    }

    /// Once a cell failed, nothing more is written: the answer fails whole.
    fn cell(&mut self, cell: Cell<'_>) {
        if self.failed.is_some() {
            return;
        }
        // Without the job's state a scanner would have no patterns: fail rather than pass text.
        let Some(state) = self.state.take() else {
            self.failed = Some("masking lost its state".into());
            return;
        };
        if self.cells > 0 {
            self.json.push(',');
        }
        let plan = self.plans.get(self.cells);
        self.cells += 1;
        let (engine, counts) = (self.engine, &mut self.counts);
        let (json, masked) = (&mut self.json, &mut self.masked);
        // A panic fails the answer as masking's, as the masker's own walk does.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut scanner = Scanner::resume(engine, state, counts);
            let written = mask_and_write(&mut scanner, plan, cell, json, masked);
            (scanner.pause(), written)
        }));
        match outcome {
            Ok((state, Ok(()))) => self.state = Some(state),
            Ok((_, Err(err))) => self.failed = Some(err.to_string()),
            Err(_) => self.failed = Some("masking panicked".into()),
        }
    }

    fn end_row(&mut self) {
        self.json.push(']');
        self.rows += 1;
    }

    fn finish(mut self: Box<Self>) -> Result<WrittenRows, MaskingError> {
        if let Some(why) = self.failed.take() {
            return Err(MaskingError(format!("a cell could not be masked: {why}")));
        }
        let mut json = std::mem::take(&mut self.json);
        json.push(']');
        let counts = std::mem::take(&mut self.counts);
        Ok(WrittenRows::masked(json, self.rows, counts))
    }
}

/// Masks one cell by its column's plan and writes it into `json`; a masked text cell is built in
/// `masked` first.
fn mask_and_write(
    scanner: &mut Scanner<'_, '_>,
    plan: Option<&ColumnPlan<'_>>,
    cell: Cell<'_>,
    json: &mut String,
    masked: &mut String,
) -> Result<(), serde_json::Error> {
    match cell {
        // Plain text, as `mask_value` masks a string: the scan borrows it, and a masked text is
        // built in the writer's buffer, reused from cell to cell.
        Cell::Text(text) if plan.is_none_or(|plan| plan.rule.is_none() && !plan.binary) => {
            let written = if scanner.mask_str_into(text, masked) {
                &**masked
            } else {
                text
            };
            json_text::push_string(json, written);
            Ok(())
        }
        Cell::Text(text) => {
            let mut value = Value::String(text.to_owned());
            mask_cell(scanner, plan, &mut value);
            json_text::push_value(json, &value)
        }
        Cell::Value(mut value) => {
            mask_cell(scanner, plan, &mut value);
            json_text::push_value(json, &value)
        }
    }
}

/// A cell masked by its column's plan; one past the last plan is scanned as a value.
fn mask_cell(scanner: &mut Scanner<'_, '_>, plan: Option<&ColumnPlan<'_>>, value: &mut Value) {
    match plan {
        Some(plan) => scanner.mask_cell(plan, value),
        None => scanner.mask_value(value),
    }
}

/// Gives the search caches back for the next job, as a scanner does.
impl Drop for RowWriter<'_> {
    fn drop(&mut self) {
        if let Some(caches) = self.state.take().and_then(|state| state.caches) {
            return_caches(self.engine, caches);
        }
    }
}

#[cfg(test)]
#[path = "written_tests.rs"]
mod tests;
