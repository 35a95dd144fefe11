//! Walking what leaves: result rows by their column plans, and JSON values at any depth — strings,
//! numbers, binaries and object keys — with column rules on named fields.

use super::counts::count;
use super::scan::Scanner;
use crate::policy::lineage::Source;
use crate::protocol::Column;
use relay_config::ColumnRule;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// How the cells of one result column are masked. [`crate::masking::MaskingEngine::plan_columns`]
/// fills it from the column's name and type; a rule chosen another way (from the column's
/// source) is set in `rule`, with the name it is counted under, before the rows are masked.
#[derive(Debug, Clone)]
pub struct ColumnPlan<'e> {
    /// Replaces every non-null cell whole.
    pub rule: Option<&'e ColumnRule>,
    /// What replacements by `rule` are counted as (`column:<name>`); empty without a rule.
    pub counted_as: String,
    /// The cells are base64 text of binary values (PostgreSQL bytea): scanned as bytes.
    pub binary: bool,
    /// `rule` replaces each cell by its replacement text whatever its strategy (a value computed
    /// from the rule's column).
    pub whole: bool,
}

impl<'e> ColumnPlan<'e> {
    /// The plan of a column by its name (column rules) and type (`bytea` and arrays of it).
    pub(super) fn for_column(rule: Option<&'e ColumnRule>, column: &Column) -> Self {
        ColumnPlan {
            rule,
            // Only a rule counts its replacements: most columns have none, and cost no text.
            counted_as: rule.map_or_else(String::new, |_| rule_count_name(&column.name)),
            binary: matches!(column.type_name.as_str(), "bytea" | "_bytea"),
            whole: false,
        }
    }
}

fn rule_count_name(name: &str) -> String {
    format!("column:{}", name.to_lowercase())
}

impl Scanner<'_, '_> {
    pub(super) fn mask_rows(&mut self, plans: &[ColumnPlan<'_>], rows: &mut [Vec<Value>]) {
        for row in rows {
            for (index, cell) in row.iter_mut().enumerate() {
                match plans.get(index) {
                    Some(plan) => self.mask_cell(plan, cell),
                    None => self.mask_value(cell),
                }
            }
        }
    }

    pub(super) fn mask_cell(&mut self, plan: &ColumnPlan<'_>, cell: &mut Value) {
        match plan.rule {
            Some(rule) if !cell.is_null() => {
                match plan.whole {
                    true => *cell = Value::String(rule.replacement.clone()),
                    false => self.engine.columns.apply(rule, cell),
                }
                count(self.counts, &plan.counted_as, 1);
            }
            _ if plan.binary => self.mask_binary_cell(cell),
            _ => self.mask_value(cell),
        }
    }

    /// Masks every string, number, binary and key inside a JSON value, at any depth.
    pub(super) fn mask_value(&mut self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.mask_str(text) {
                    *text = masked;
                }
            }
            Value::Number(number) => {
                if let Some(replacement) = self.mask_number(number) {
                    *value = Value::String(replacement);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask_value(item)),
            // A binary without a match is scanned on as an object: whatever else it holds
            // (a `subType`, or fields a look-alike added) is text like any other.
            Value::Object(fields) => match self.mask_extended_binary(fields) {
                Some(Some(replacement)) => *value = Value::String(replacement),
                _ => self.mask_object(fields),
            },
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Masks an object's keys like values and its fields by their (original) names. Keys that
    /// mask to the same text all survive, the later ones with a `#2`, `#3`, ... suffix.
    fn mask_object(&mut self, fields: &mut Map<String, Value>) {
        let mut renamed: Vec<(usize, String)> = Vec::new();
        for (position, key) in fields.keys().enumerate() {
            if let Cow::Owned(masked) = self.mask_str(key) {
                renamed.push((position, masked));
            }
        }
        if renamed.is_empty() {
            for (key, field) in fields.iter_mut() {
                self.mask_field(key, field);
            }
            return;
        }
        let mut renamed = renamed.into_iter().peekable();
        for (position, (key, mut field)) in std::mem::take(fields).into_iter().enumerate() {
            self.mask_field(&key, &mut field);
            let key = match renamed.next_if(|(at, _)| *at == position) {
                Some((_, masked)) => masked,
                None => key,
            };
            insert_unique(fields, key, field);
        }
    }

    /// A named value: replaced whole when a column rule names it, else scanned.
    fn mask_field(&mut self, name: &str, value: &mut Value) {
        let columns = &self.engine.columns;
        let by_name = columns.index_for(name);
        let scoped = match self.scoped.is_empty() {
            true => None,
            false => columns.scoped_for(&self.scoped, name),
        };
        let rule = columns.strictest(&mut by_name.into_iter().chain(scoped));
        match rule.and_then(|index| columns.rule(index)) {
            Some(rule) if !value.is_null() => {
                columns.apply(rule, value);
                count(self.counts, &rule_count_name(name), 1);
            }
            _ => self.mask_value(value),
        }
    }

    /// Replaces document fields computed from protected fields (dotted paths, through arrays) by
    /// their source's rule.
    pub(super) fn mask_derived_fields(
        &mut self,
        fields: &[(String, Source)],
        rows: &mut [Vec<Value>],
    ) {
        if fields.is_empty() {
            return;
        }
        let columns = &self.engine.columns;
        for document in rows.iter_mut().flatten() {
            for (path, source) in fields {
                let Some(rule) = columns.rule(source.rule) else {
                    continue;
                };
                let mut segments = path.split('.');
                // A computed field: only its whole value is safe (see `ColumnPlan::whole`).
                let redact = |value: &mut Value| *value = Value::String(rule.replacement.clone());
                let replaced = match segments.next() {
                    Some(first) => apply_at(document, first, &mut segments, &redact),
                    None => 0,
                };
                if replaced > 0 {
                    count(
                        self.counts,
                        &rule_count_name(&source.column),
                        replaced as u64,
                    );
                }
            }
        }
    }
}

/// Applies `mask` to the non-null values at a field path, through arrays; how many it masked.
fn apply_at<'p>(
    value: &mut Value,
    segment: &str,
    rest: &mut (impl Iterator<Item = &'p str> + Clone),
    mask: &dyn Fn(&mut Value),
) -> usize {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .map(|item| apply_at(item, segment, &mut rest.clone(), mask))
            .sum(),
        Value::Object(fields) => match fields.get_mut(segment) {
            None => 0,
            Some(found) => match rest.next() {
                Some(next) => apply_at(found, next, rest, mask),
                None if found.is_null() => 0,
                None => {
                    mask(found);
                    1
                }
            },
        },
        _ => 0,
    }
}

/// Inserts under `key`, or under the first free `key#2`, `key#3`, ... when it is taken.
fn insert_unique(fields: &mut Map<String, Value>, key: String, value: Value) {
    if !fields.contains_key(&key) {
        fields.insert(key, value);
        return;
    }
    let mut suffix = 2usize;
    loop {
        let candidate = format!("{key}#{suffix}");
        if !fields.contains_key(&candidate) {
            fields.insert(candidate, value);
            return;
        }
        suffix += 1;
    }
}
