//! The masking engine: configured patterns, built-in detectors and column rules applied to every
//! value that leaves the relay (strings, numbers, binaries, object keys). Pure, no actix.

use super::builtins::{Kind, BUILTINS, HEX_BYTES};
use super::columns::ColumnRules;
use super::scan::Scanner;
use super::values::ColumnPlan;
use crate::messages::{MaskPayload, OperationOutput, OutputLineage};
use crate::policy::lineage::Source;
use crate::protocol::{Column, MaskedCounts};
use regex_automata::hybrid::dfa::{Cache as LazyCache, DFA as LazyDfa};
use regex_automata::meta::{Cache, Regex as MetaRegex};
use relay_config::Masking;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Mutex;
use thiserror::Error;

/// Strings longer than this are replaced whole: scanning them could take unbounded time with many
/// matches, and a value this large is no answer a person reads.
pub const MAX_MASKED_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// What replaces a string too large to scan.
pub const OVERSIZED_REPLACEMENT: &str = "[value too large to mask]";

/// A pattern failed to compile (validation should have caught it first).
#[derive(Debug, Error)]
#[error("masking pattern {name}: {message}")]
pub struct PatternError {
    name: String,
    message: String,
}

/// What a pattern is called and what replaces its matches.
pub(super) struct Pattern {
    pub(super) name: String,
    pub(super) replacement: String,
    /// Built-ins may use `$1` groups; configured replacements are literal text.
    pub(super) expand: bool,
    pub(super) validator: Option<fn(&str) -> bool>,
    pub(super) kind: Kind,
    /// From `masking.patterns` (judged against numbers' whole text; widened to whole addresses).
    pub(super) configured: bool,
}

/// One job's search caches: of the combined automaton and of the configured patterns anchored
/// to whole numbers.
pub(super) struct Caches {
    pub(super) text: Cache,
    pub(super) numbers: Option<LazyCache>,
}

/// Compiled masking rules.
pub struct MaskingEngine {
    pub(super) patterns: Vec<Pattern>,
    /// Every pattern in one automaton: a single leftmost-first pass over a value finds every
    /// match of every pattern and says which pattern it is, and a clean value costs that one
    /// scan and no allocation. `None` when there is nothing to find.
    pub(super) combined: Option<MetaRegex>,
    /// The configured patterns, each anchored to match a number's whole decimal text; pattern
    /// ids are the same as in `patterns`. `None` without configured patterns.
    /// A lazy DFA rather than a meta regex: numbers are short, and the meta regex's setup per
    /// search cost more than the search.
    pub(super) whole_number: Option<LazyDfa>,
    pub(super) columns: ColumnRules,
    /// Search caches of finished jobs. The lazy DFA inside a cache learns its states as it scans;
    /// a fresh cache per job rebuilt them for every result and cost more than the scan itself.
    /// Taken once per job, not per value, so workers do not contend for the lock.
    pub(super) idle_caches: Mutex<Vec<Caches>>,
}

impl MaskingEngine {
    /// Compiles the configured patterns, the enabled built-ins and the column rules; with masking
    /// disabled the engine masks nothing.
    pub fn from_config(masking: &Masking) -> Result<Self, PatternError> {
        let (patterns, sources) = if masking.enabled {
            collect_patterns(masking)
        } else {
            (Vec::new(), Vec::new())
        };
        let combined = compile_combined(&sources, &patterns)?;
        let configured = patterns.iter().take_while(|p| p.configured).count();
        let whole: Vec<String> = sources[..configured]
            .iter()
            .map(|source| format!("^(?:{source})$"))
            .collect();
        let whole_number = compile_whole_number(&whole, &patterns)?;
        let rules = if masking.enabled {
            masking.columns.as_slice()
        } else {
            &[]
        };
        let hash_key = masking.hash_key.as_ref().map(|key| key.expose());
        let columns = ColumnRules::new(rules, hash_key).map_err(|err| PatternError {
            name: "columns".to_owned(),
            message: err.to_string(),
        })?;
        Ok(MaskingEngine {
            patterns,
            combined,
            whole_number,
            columns,
            idle_caches: Mutex::new(Vec::new()),
        })
    }

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

/// The configured patterns, then the enabled built-ins, then hex-escaped bytes (when there is
/// anything to find in them), with their regexes.
fn collect_patterns(masking: &Masking) -> (Vec<Pattern>, Vec<&str>) {
    let mut patterns = Vec::new();
    let mut sources = Vec::new();
    for pattern in &masking.patterns {
        sources.push(pattern.regex.as_str());
        patterns.push(Pattern {
            name: pattern.name.clone(),
            replacement: pattern.replacement.clone(),
            expand: false,
            validator: None,
            kind: Kind::Text,
            configured: true,
        });
    }
    let enabled = masking.builtins.enabled();
    for builtin in BUILTINS.iter().filter(|b| enabled.contains(&b.name)) {
        sources.push(builtin.regex);
        patterns.push(Pattern {
            name: builtin.name.to_owned(),
            replacement: builtin.replacement.to_owned(),
            expand: builtin.replacement.contains('$'),
            validator: builtin.validator,
            kind: builtin.kind,
            configured: false,
        });
    }
    if !patterns.is_empty() {
        sources.push(HEX_BYTES);
        patterns.push(Pattern {
            name: "bytes".to_owned(),
            replacement: String::new(),
            expand: false,
            validator: None,
            kind: Kind::HexBytes,
            configured: false,
        });
    }
    (patterns, sources)
}

/// One automaton for all patterns, in order: the configured ones first, then the built-ins.
fn compile_combined<S: AsRef<str>>(
    sources: &[S],
    patterns: &[Pattern],
) -> Result<Option<MetaRegex>, PatternError> {
    if sources.is_empty() {
        return Ok(None);
    }
    MetaRegex::new_many(sources)
        .map(Some)
        .map_err(|err| PatternError {
            name: err
                .pattern()
                .and_then(|id| patterns.get(id.as_usize()))
                .map_or_else(|| "(combined)".to_owned(), |p| p.name.clone()),
            message: err.to_string(),
        })
}

/// The configured patterns anchored to whole numbers, as one lazy DFA (Unicode word boundaries
/// are fine: numbers are ASCII); `None` when no number can match any of them.
fn compile_whole_number(
    sources: &[String],
    patterns: &[Pattern],
) -> Result<Option<LazyDfa>, PatternError> {
    if sources.is_empty() {
        return Ok(None);
    }
    let dfa = LazyDfa::builder()
        .configure(LazyDfa::config().unicode_word_boundary(true))
        .build_many(sources)
        .map_err(|err| PatternError {
            name: patterns
                .first()
                .map_or_else(|| "(numbers)".to_owned(), |p| p.name.clone()),
            message: format!("as a number matcher: {err}"),
        })?;
    Ok(super::numbers::can_match_a_number(&dfa).then_some(dfa))
}

/// Adds the counts of one part of a result to those of the whole.
pub fn merge_counts(into: &mut MaskedCounts, part: MaskedCounts) {
    into.total += part.total;
    for (name, found) in part.by_pattern {
        *into.by_pattern.entry(name).or_default() += found;
    }
}

/// Counts `found` replacements by `name`, allocating the name only the first time.
pub(super) fn count(counts: &mut MaskedCounts, name: &str, found: u64) {
    counts.total += found;
    match counts.by_pattern.get_mut(name) {
        Some(total) => *total += found,
        None => {
            counts.by_pattern.insert(name.to_owned(), found);
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
