//! One masking job on one thread: finds the accepted matches in a text with the engine's combined
//! automaton and rewrites them. Each job holds search caches of its own for its whole run (taken
//! from and returned to the engine's idle caches), so parallel workers never contend for a shared
//! one. Values, numbers and bytes are walked in `values.rs`, `numbers.rs` and `bytes.rs`.

use super::builtins::Kind;
use super::compiled::{
    Caches, MaskingEngine, Pattern, MAX_MASKED_VALUE_BYTES, OVERSIZED_REPLACEMENT,
};
use super::counts::count;
use crate::protocol::MaskedCounts;
use regex_automata::{Anchored, Input, Match, PatternID};
use std::borrow::Cow;

/// Hands the warmed caches back for the next job.
impl Drop for Scanner<'_, '_> {
    fn drop(&mut self) {
        if let Some(caches) = self.caches.take() {
            return_caches(self.engine, caches);
        }
    }
}

/// What one job's scanners hand on from one to the next: the search caches (given back to the
/// engine when the job ends) and the table-scoped column rules.
pub(super) struct ScanState {
    pub(super) caches: Option<Box<Caches>>,
    pub(super) scoped: Vec<usize>,
}

/// Search caches for one job: idle ones of an earlier job, else new; `None` when there are no
/// patterns.
pub(super) fn take_caches(engine: &MaskingEngine) -> Option<Box<Caches>> {
    engine.combined.as_ref().map(|regex| {
        let reused = engine
            .idle_caches
            .lock()
            .ok()
            .and_then(|mut idle| idle.pop());
        reused.unwrap_or_else(|| {
            Box::new(Caches {
                text: regex.create_cache(),
                numbers: engine.whole_number.as_ref().map(|dfa| dfa.create_cache()),
            })
        })
    })
}

/// Hands a finished job's caches back for the next job.
pub(super) fn return_caches(engine: &MaskingEngine, caches: Box<Caches>) {
    if let Ok(mut idle) = engine.idle_caches.lock() {
        idle.push(caches);
    }
}

pub(super) struct Scanner<'e, 'c> {
    pub(super) engine: &'e MaskingEngine,
    /// The automata's caches; `None` when there are no patterns.
    pub(super) caches: Option<Box<Caches>>,
    pub(super) counts: &'c mut MaskedCounts,
    /// How deep inside decoded bytes the scan is (hex-escaped bytes can nest; bounded).
    pub(super) depth: u8,
    /// Column rules scoped to the relation the values come from: they apply by field name too.
    pub(super) scoped: Vec<usize>,
}

/// An accepted match: its pattern and the range it replaces, with the replacement when it was
/// found in decoded bytes rather than in the text itself.
pub(super) struct Hit {
    pub(super) index: usize,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) replacement: Option<String>,
}

impl<'e, 'c> Scanner<'e, 'c> {
    pub(super) fn new(engine: &'e MaskingEngine, counts: &'c mut MaskedCounts) -> Self {
        let state = ScanState {
            caches: take_caches(engine),
            scoped: Vec::new(),
        };
        Self::resume(engine, state, counts)
    }

    /// A scanner going on from where an earlier one of the same job paused: a job that scans
    /// value by value keeps its caches without taking the engine's lock for each.
    pub(super) fn resume(
        engine: &'e MaskingEngine,
        state: ScanState,
        counts: &'c mut MaskedCounts,
    ) -> Self {
        Scanner {
            engine,
            caches: state.caches,
            counts,
            depth: 0,
            scoped: state.scoped,
        }
    }

    /// Ends this scanner and hands what the job keeps to the next one (see [`Self::resume`]).
    pub(super) fn pause(mut self) -> ScanState {
        ScanState {
            caches: self.caches.take(),
            scoped: std::mem::take(&mut self.scoped),
        }
    }

    /// Also applies these table-scoped column rules by field name.
    pub(super) fn scoped(mut self, rules: &[usize]) -> Self {
        self.scoped = rules.to_vec();
        self
    }

    pub(super) fn patterns(&self) -> &'e [Pattern] {
        &self.engine.patterns
    }

    /// Masks one string; borrows it unchanged when nothing matches.
    pub(super) fn mask_str<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let mut masked = String::new();
        if self.mask_str_into(text, &mut masked) {
            Cow::Owned(masked)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// [`Self::mask_str`] into `masked` (emptied first, its buffer reused): true when something
    /// was replaced, and then `masked` holds the masked text.
    pub(super) fn mask_str_into(&mut self, text: &str, masked: &mut String) -> bool {
        masked.clear();
        if self.caches.is_none() {
            return false;
        }
        if text.len() > MAX_MASKED_VALUE_BYTES {
            count(self.counts, "oversized", 1);
            masked.push_str(OVERSIZED_REPLACEMENT);
            return true;
        }
        let mut replaced = false;
        let mut copied_up_to = 0;
        let mut from = 0;
        while let Some((hit, found_at)) = self.next_hit(text, from, copied_up_to) {
            if !replaced {
                masked.reserve(text.len());
                replaced = true;
            }
            masked.push_str(&text[copied_up_to..hit.start]);
            self.write_replacement(text, &hit, masked);
            count(self.counts, &self.patterns()[hit.index].name, 1);
            copied_up_to = hit.end;
            from = hit.end.max(next_char(text, found_at));
            if from > text.len() {
                break;
            }
        }
        if replaced {
            masked.push_str(&text[copied_up_to..]);
        }
        replaced
    }

    /// The first accepted match at or after `from`, and where the automaton found it. `floor`
    /// is how far back a match may be widened (text before it is already written out).
    pub(super) fn next_hit(
        &mut self,
        text: &str,
        from: usize,
        floor: usize,
    ) -> Option<(Hit, usize)> {
        let mut input = Input::new(text);
        let mut from = from;
        loop {
            input.set_start(from);
            let found = self.search(&input)?;
            if let Some(hit) = self.accepted_match(text, found, floor) {
                return Some((hit, found.start()));
            }
            // A rejected candidate may still hide a match that starts inside it.
            from = next_char(text, found.start());
            if from > text.len() {
                return None;
            }
        }
    }

    fn search(&mut self, input: &Input<'_>) -> Option<Match> {
        let regex = self.engine.combined.as_ref()?;
        let caches = self.caches.as_mut()?;
        regex.search_with(&mut caches.text, input)
    }

    /// The match to replace at `found.start()`: the one found if it is accepted, else the first
    /// later pattern that matches there and is accepted.
    fn accepted_match(&mut self, text: &str, found: Match, floor: usize) -> Option<Hit> {
        let first = found.pattern().as_usize();
        if let Some(hit) = self.accept(text, first, found.start(), found.end(), floor) {
            return Some(hit);
        }
        for index in first + 1..self.patterns().len() {
            let Ok(id) = PatternID::new(index) else {
                break;
            };
            let anchored = Input::new(text)
                .range(found.start()..)
                .anchored(Anchored::Pattern(id));
            if let Some(other) = self.search(&anchored) {
                if let Some(hit) = self.accept(text, index, other.start(), other.end(), floor) {
                    return Some(hit);
                }
            }
        }
        None
    }

    /// Whether pattern `index`'s match `start..end` counts, and what it replaces.
    fn accept(
        &mut self,
        text: &str,
        index: usize,
        start: usize,
        end: usize,
        floor: usize,
    ) -> Option<Hit> {
        let pattern = &self.patterns()[index];
        let mut hit = Hit {
            index,
            start,
            end,
            replacement: None,
        };
        match pattern.kind {
            Kind::HexBytes => {
                let (inner, replacement) = self.hex_bytes_hit(&text[start..end])?;
                hit.index = inner;
                hit.replacement = Some(replacement);
                return Some(hit);
            }
            Kind::Digits if inside_a_number(text, start, end) => return None,
            _ => {}
        }
        if pattern
            .validator
            .is_some_and(|valid| !valid(&text[start..end]))
        {
            return None;
        }
        if pattern.configured || pattern.kind == Kind::Address {
            (hit.start, hit.end) = address_extent(text, start, end, floor);
        }
        Some(hit)
    }

    /// Writes a hit's replacement, expanding `$` groups of built-ins that have them.
    pub(super) fn write_replacement(&mut self, text: &str, hit: &Hit, out: &mut String) {
        if let Some(replacement) = &hit.replacement {
            out.push_str(replacement);
            return;
        }
        let pattern = &self.patterns()[hit.index];
        if !pattern.expand {
            out.push_str(&pattern.replacement);
            return;
        }
        let (Some(regex), Some(caches)) = (self.engine.combined.as_ref(), self.caches.as_mut())
        else {
            out.push_str("***");
            return;
        };
        let mut caps = regex.create_captures();
        if let Ok(id) = PatternID::new(hit.index) {
            let anchored = Input::new(text)
                .range(hit.start..)
                .anchored(Anchored::Pattern(id));
            regex.search_captures_with(&mut caches.text, &anchored, &mut caps);
        }
        if caps.is_match() {
            caps.interpolate_string_into(text, &pattern.replacement, out);
        } else {
            out.push_str("***");
        }
    }
}

/// Whether digits at `start..end` are part of a decimal number: right after `<digit>.` or right
/// before `.<digit>`. The fraction of `2.7182818284590452` and the integer part of
/// `1398443166301.5` are no card numbers; `529.982.247-25` starts and ends with no such dot.
fn inside_a_number(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let after_point = start >= 2 && bytes[start - 1] == b'.' && bytes[start - 2].is_ascii_digit();
    let before_point =
        bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
    after_point || before_point
}

/// Widens a match inside an e-mail address to the whole address, never back past `floor`:
/// `joão.silva@gmail.com` goes whole even where an ASCII pattern matched only
/// `o.silva@gmail.com`. Matches without a domain after an `@` (`user:password@`) stay as found.
fn address_extent(text: &str, start: usize, end: usize, floor: usize) -> (usize, usize) {
    let matched = &text[start..end];
    match matched.find('@') {
        Some(at) if at + 1 < matched.len() => {}
        _ => return (start, end),
    }
    let local = |c: char| part_of_word(c) || matches!(c, '.' | '_' | '%' | '+' | '-');
    let mut from = start;
    for (offset, c) in text[floor.min(start)..start].char_indices().rev() {
        if !local(c) {
            break;
        }
        from = floor.min(start) + offset;
    }
    let mut to = end;
    let mut rest = text[end..].char_indices().peekable();
    while let Some((offset, c)) = rest.next() {
        let label_goes_on = part_of_word(c)
            || c == '-'
            || (c == '.' && rest.peek().is_some_and(|&(_, next)| part_of_word(next)));
        if !label_goes_on {
            break;
        }
        to = end + offset + c.len_utf8();
    }
    (from, to)
}

/// Letters, digits and combining marks (decomposed accents) of any script.
fn part_of_word(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

/// The offset of the character after the one at `at` (or one past the end).
fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(at + 1, |c| at + c.len_utf8())
}
