//! One masking job on one thread: walks values and rewrites their strings with the engine's
//! combined automaton. Each job holds a search cache of its own for its whole run (taken from and
//! returned to the engine's idle caches), so parallel workers never contend for a shared one.

use super::engine::{count, MaskingEngine, MAX_MASKED_VALUE_BYTES, OVERSIZED_REPLACEMENT};
use crate::protocol::{Column, MaskedCounts};
use regex_automata::meta::{Cache, Regex as MetaRegex};
use regex_automata::{Anchored, Input, Match, PatternID};
use serde_json::Value;
use std::borrow::Cow;

/// Hands the warmed cache back for the next job.
impl Drop for Scanner<'_, '_> {
    fn drop(&mut self) {
        if let Some((_, cache)) = self.search.take() {
            if let Ok(mut idle) = self.engine.idle_caches.lock() {
                idle.push(cache);
            }
        }
    }
}

pub(super) struct Scanner<'e, 'c> {
    engine: &'e MaskingEngine,
    /// The automaton and its cache; `None` when there are no patterns.
    search: Option<(&'e MetaRegex, Cache)>,
    counts: &'c mut MaskedCounts,
}

impl<'e, 'c> Scanner<'e, 'c> {
    pub(super) fn new(engine: &'e MaskingEngine, counts: &'c mut MaskedCounts) -> Self {
        let search = engine.combined.as_ref().map(|regex| {
            let reused = engine
                .idle_caches
                .lock()
                .ok()
                .and_then(|mut idle| idle.pop());
            (regex, reused.unwrap_or_else(|| regex.create_cache()))
        });
        Scanner {
            engine,
            search,
            counts,
        }
    }

    /// Masks one string; borrows it unchanged when nothing matches.
    pub(super) fn mask_str<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let Some((regex, cache)) = self.search.as_mut() else {
            return Cow::Borrowed(text);
        };
        if text.len() > MAX_MASKED_VALUE_BYTES {
            count(self.counts, "oversized", 1);
            return Cow::Owned(OVERSIZED_REPLACEMENT.to_owned());
        }
        let patterns = &self.engine.patterns;
        let mut masked: Option<String> = None;
        let mut copied_up_to = 0;
        let mut input = Input::new(text);
        while let Some(found) = regex.search_with(cache, &input) {
            let next = match accepted_match(self.engine, regex, cache, text, found) {
                Some((index, end)) => {
                    let out = masked.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[copied_up_to..found.start()]);
                    write_replacement(self.engine, regex, cache, text, index, found.start(), out);
                    copied_up_to = end;
                    count(self.counts, &patterns[index].name, 1);
                    end.max(next_char(text, found.start()))
                }
                // A rejected candidate may still hide a match that starts inside it.
                None => next_char(text, found.start()),
            };
            if next > text.len() {
                break;
            }
            input.set_start(next);
        }
        match masked {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(&text[copied_up_to..]);
                Cow::Owned(out)
            }
        }
    }

    /// Masks every string inside a JSON value, at any depth.
    pub(super) fn mask_value(&mut self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.mask_str(text) {
                    *text = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask_value(item)),
            Value::Object(fields) => {
                for (key, field) in fields.iter_mut() {
                    self.mask_field(key, field);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// A named value: replaced whole when a column rule names it, else scanned.
    fn mask_field(&mut self, name: &str, value: &mut Value) {
        let columns = &self.engine.columns;
        match columns.rule_for(name) {
            Some(rule) if !value.is_null() => {
                columns.apply(rule, value);
                count(self.counts, &format!("column:{}", name.to_lowercase()), 1);
            }
            _ => self.mask_value(value),
        }
    }

    pub(super) fn mask_rows(&mut self, columns: &[Column], rows: &mut [Vec<Value>]) {
        for row in rows {
            for (index, cell) in row.iter_mut().enumerate() {
                match columns.get(index) {
                    Some(column) => self.mask_field(&column.name, cell),
                    None => self.mask_value(cell),
                }
            }
        }
    }
}

/// The pattern and end of the match to replace at `found.start()`: the one found if its
/// validator accepts it, else the first later pattern that matches there and is accepted.
fn accepted_match(
    engine: &MaskingEngine,
    regex: &MetaRegex,
    cache: &mut Cache,
    text: &str,
    found: Match,
) -> Option<(usize, usize)> {
    let first = found.pattern().as_usize();
    if accepts(engine, first, &text[found.range()]) {
        return Some((first, found.end()));
    }
    (first + 1..engine.patterns.len()).find_map(|index| {
        let id = PatternID::new(index).ok()?;
        let anchored = Input::new(text)
            .range(found.start()..)
            .anchored(Anchored::Pattern(id));
        let other = regex.search_with(cache, &anchored)?;
        accepts(engine, index, &text[other.range()]).then_some((index, other.end()))
    })
}

fn accepts(engine: &MaskingEngine, index: usize, candidate: &str) -> bool {
    engine.patterns[index]
        .validator
        .is_none_or(|valid| valid(candidate))
}

/// Writes pattern `index`'s replacement for its match at `start`, expanding `$` groups.
fn write_replacement(
    engine: &MaskingEngine,
    regex: &MetaRegex,
    cache: &mut Cache,
    text: &str,
    index: usize,
    start: usize,
    out: &mut String,
) {
    let pattern = &engine.patterns[index];
    if !pattern.expand {
        out.push_str(&pattern.replacement);
        return;
    }
    let mut caps = regex.create_captures();
    if let Ok(id) = PatternID::new(index) {
        let anchored = Input::new(text)
            .range(start..)
            .anchored(Anchored::Pattern(id));
        regex.search_captures_with(cache, &anchored, &mut caps);
    }
    if caps.is_match() {
        caps.interpolate_string_into(text, &pattern.replacement, out);
    } else {
        out.push_str("***");
    }
}

/// The offset of the character after the one at `at` (or one past the end).
fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(at + 1, |c| at + c.len_utf8())
}
