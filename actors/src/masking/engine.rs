//! The masking engine: configured patterns, built-in detectors and column rules applied to every
//! value that leaves the relay (strings, numbers, binaries, object keys). Pure, no actix.

pub use super::compiled::{
    MaskingEngine, PatternError, MAX_MASKED_VALUE_BYTES, OVERSIZED_REPLACEMENT,
};
pub use super::counts::merge_counts;
use super::scan::Scanner;
use super::values::ColumnPlan;
use crate::messages::{MaskPayload, OperationOutput, OutputLineage};
use crate::policy::lineage::Source;
use crate::protocol::{Column, MaskedCounts};
use serde_json::Value;
use std::borrow::Cow;

impl MaskingEngine {
    /// Masks one string; borrows it unchanged when nothing matches.
    pub fn mask_str<'a>(&self, text: &'a str, counts: &mut MaskedCounts) -> Cow<'a, str> {
        Scanner::new(self, counts).mask_str(text)
    }

    /// Masks every string, number, binary and object key inside a JSON value, at any depth;
    /// fields named by a column rule are replaced whole.
    pub fn mask_value(&self, value: &mut Value, counts: &mut MaskedCounts) {
        Scanner::new(self, counts).mask_value(value);
    }

    /// Masks rows of a result; `columns` names their cells and gives their types, so column
    /// rules apply and binary columns are scanned as bytes.
    pub fn mask_rows(
        &self,
        columns: &[Column],
        rows: &mut [Vec<Value>],
        counts: &mut MaskedCounts,
    ) {
        self.mask_traced_rows(columns, &OutputLineage::default(), rows, counts);
    }

    /// [`Self::mask_rows`] with what the resource traced of the values' sources: a column or
    /// field derived from a protected column gets that column's rule, under any name.
    pub fn mask_traced_rows(
        &self,
        columns: &[Column],
        lineage: &OutputLineage,
        rows: &mut [Vec<Value>],
        counts: &mut MaskedCounts,
    ) {
        let plans = self.plan_columns(columns, lineage);
        let mut scanner = Scanner::new(self, counts).scoped(&lineage.scoped_rules);
        scanner.mask_derived_fields(&lineage.fields, rows);
        scanner.mask_rows(&plans, rows);
    }

    /// How each column's cells are masked: by the strictest of the rule its name has and the
    /// rule of the protected column it derives from, and by its type.
    pub fn plan_columns(&self, columns: &[Column], lineage: &OutputLineage) -> Vec<ColumnPlan<'_>> {
        columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                let by_name = self.columns.index_for(&column.name);
                let source = lineage.columns.get(index).and_then(Option::as_ref);
                let computed = lineage.computed.get(index).copied().unwrap_or(false);
                self.plan_column(column, by_name, source, computed)
            })
            .collect()
    }

    fn plan_column(
        &self,
        column: &Column,
        by_name: Option<usize>,
        source: Option<&Source>,
        computed: bool,
    ) -> ColumnPlan<'_> {
        let by_source = source.map(|source| source.rule);
        let rule = self
            .columns
            .strictest(&mut by_name.into_iter().chain(by_source));
        let mut plan = ColumnPlan::for_column(rule.and_then(|i| self.columns.rule(i)), column);
        if let Some(source) = source.filter(|_| rule.is_some() && rule != by_name) {
            plan.counted_as = format!("column:{}", source.column.to_lowercase());
            // A kept part or a hash of a piece of a computed value tells something about the
            // column (`substr(token, 1, 8)` under a partial rule): only the whole value is safe.
            plan.whole = computed;
        }
        plan
    }

    /// Masks rows by their columns' plans; cells past the last plan are scanned as values.
    pub fn mask_planned_rows(
        &self,
        plans: &[ColumnPlan<'_>],
        rows: &mut [Vec<Value>],
        counts: &mut MaskedCounts,
    ) {
        Scanner::new(self, counts).mask_rows(plans, rows);
    }

    /// Masks rows and details of an operation's output.
    pub fn mask_output(&self, output: &mut OperationOutput, counts: &mut MaskedCounts) {
        self.mask_traced_rows(&output.columns, &output.lineage, &mut output.rows, counts);
        if let Some(details) = output.details.as_mut() {
            Scanner::new(self, counts).mask_value(details);
        }
        // Rows the resource masked as it wrote them: what was replaced there counts too.
        if let Some(written) = &output.written {
            merge_counts(counts, written.counts().clone());
        }
    }

    /// Masks a payload in place and reports what was replaced.
    pub fn mask_payload(&self, payload: &mut MaskPayload) -> MaskedCounts {
        let mut counts = MaskedCounts::default();
        match payload {
            MaskPayload::Output(output) => self.mask_output(output, &mut counts),
            MaskPayload::Text(text) => {
                if let Cow::Owned(masked) = Scanner::new(self, &mut counts).mask_str(text) {
                    *text = masked;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
