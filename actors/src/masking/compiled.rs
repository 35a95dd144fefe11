//! The compiled masking rules: configured patterns and enabled built-ins in one automaton, the
//! configured patterns anchored to whole numbers, and the column rules. Building them is here; the
//! walks that apply them are in `scan.rs`, `values.rs`, `numbers.rs` and `bytes.rs`, and the
//! engine's API in `engine.rs`.

use super::builtins::{Kind, BUILTINS, HEX_BYTES};
use super::columns::ColumnRules;
use regex_automata::hybrid::dfa::{Cache as LazyCache, DFA as LazyDfa};
use regex_automata::meta::{Cache, Regex as MetaRegex};
use relay_config::Masking;
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
    /// Boxed: a job hands its caches from one value's scanner to the next, and the caches are
    /// too large to copy that often.
    #[allow(clippy::vec_box)]
    pub(super) idle_caches: Mutex<Vec<Box<Caches>>>,
}

/// Says what it masks with, not the compiled automata.
impl std::fmt::Debug for MaskingEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskingEngine")
            .field("patterns", &self.patterns.len())
            .finish_non_exhaustive()
    }
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
    Ok(super::number_grammar::can_match_a_number(&dfa).then_some(dfa))
}
