//! Rows masked as a resource writes them: what a resource hands over cell by cell, the writer
//! that masks each cell into the answer's JSON text, and the rows it made. The masking engine
//! implements the writer; resources see only this interface.

use super::{MaskingError, OperationOutput, OutputLineage};
use crate::protocol::{Column, MaskedCounts, ResultRows, WrittenRowsJson};
use serde_json::Value;

/// One result cell as a resource decoded it: text borrowed from the row it arrived in, or any
/// other JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Text(&'a str),
    Value(Value),
}

/// Makes writers that mask a result's rows as they are written.
pub trait RowMasking: Send + Sync + std::fmt::Debug {
    /// A writer for rows of `columns` with the sources `lineage` traced; `None` when these rows
    /// must be masked as values (after the resource returns them).
    fn row_writer<'e>(
        &'e self,
        columns: &[Column],
        lineage: &OutputLineage,
    ) -> Option<Box<dyn MaskedRowWriter + 'e>>;
}

/// Masks and writes one result's rows, cell by cell, in order.
pub trait MaskedRowWriter {
    /// Rows written so far.
    fn rows(&self) -> usize;
    fn begin_row(&mut self);
    /// Masks the row's next cell and writes it.
    fn cell(&mut self, cell: Cell<'_>);
    fn end_row(&mut self);
    /// The rows written, or why they cannot be sent (then nothing is).
    fn finish(self: Box<Self>) -> Result<WrittenRows, MaskingError>;
}

/// Rows masked and written as the JSON text of a rows array, and what masking replaced in them.
/// Made only by a [`MaskedRowWriter`], so their text is masked.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenRows {
    json: String,
    rows: usize,
    counts: MaskedCounts,
}

impl WrittenRows {
    /// For a [`MaskedRowWriter`]: `json` is the masked rows array, `[[cell, ...], ...]`.
    pub(crate) fn masked(json: String, rows: usize, counts: MaskedCounts) -> Self {
        WrittenRows { json, rows, counts }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn counts(&self) -> &MaskedCounts {
        &self.counts
    }

    /// The rows array's text.
    pub fn into_json(self) -> String {
        self.json
    }
}

impl OperationOutput {
    /// The rows as they go on the wire, taken out of a masked output: as values, or as the text
    /// the resource wrote them in. None for an output with both, which is a bug: it is answered
    /// as masking failed.
    pub fn take_result_rows(&mut self) -> Option<ResultRows> {
        let values = std::mem::take(&mut self.rows);
        match self.written.take() {
            None => Some(ResultRows::Values(values)),
            Some(written) if values.is_empty() => {
                let count = written.rows();
                let json = written.into_json();
                Some(ResultRows::Written(WrittenRowsJson { json, count }))
            }
            Some(_) => None,
        }
    }
}
