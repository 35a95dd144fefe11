//! The masking engine: replaces configured patterns in every string that leaves the relay. Pure, no actix.

use crate::messages::{MaskPayload, OperationOutput};
use crate::protocol::MaskedCounts;
use regex::{NoExpand, Regex, RegexSet};
use relay_config::Masking;
use serde_json::Value;
use std::borrow::Cow;
use thiserror::Error;

/// A pattern failed to compile (validation should have caught it first).
#[derive(Debug, Error)]
#[error("masking pattern {name}: {source}")]
pub struct PatternError {
    name: String,
    #[source]
    source: regex::Error,
}

struct Pattern {
    name: String,
    regex: Regex,
    replacement: String,
}

/// Compiled masking rules.
pub struct MaskingEngine {
    patterns: Vec<Pattern>,
    /// One pass over a value tells which patterns can match at all, so a clean value costs one scan.
    prefilter: RegexSet,
}

impl MaskingEngine {
    /// Compiles the configured patterns; with masking disabled the engine masks nothing.
    pub fn from_config(masking: &Masking) -> Result<Self, PatternError> {
        let enabled_patterns = if masking.enabled {
            masking.patterns.as_slice()
        } else {
            &[]
        };
        let mut patterns = Vec::with_capacity(enabled_patterns.len());
        for pattern in enabled_patterns {
            let regex = Regex::new(&pattern.regex).map_err(|source| PatternError {
                name: pattern.name.clone(),
                source,
            })?;
            patterns.push(Pattern {
                name: pattern.name.clone(),
                regex,
                replacement: pattern.replacement.clone(),
            });
        }
        let prefilter =
            RegexSet::new(patterns.iter().map(|p| p.regex.as_str())).map_err(|source| {
                PatternError {
                    name: "(combined)".to_owned(),
                    source,
                }
            })?;
        Ok(MaskingEngine {
            patterns,
            prefilter,
        })
    }

    /// Masks one string; borrows it unchanged when nothing matches.
    pub fn mask_str<'a>(&self, text: &'a str, counts: &mut MaskedCounts) -> Cow<'a, str> {
        let candidates = self.prefilter.matches(text);
        if !candidates.matched_any() {
            return Cow::Borrowed(text);
        }
        let mut masked = Cow::Borrowed(text);
        for index in candidates.iter() {
            let pattern = &self.patterns[index];
            let found = pattern.regex.find_iter(&masked).count() as u64;
            if found == 0 {
                continue;
            }
            let replaced = pattern
                .regex
                .replace_all(&masked, NoExpand(&pattern.replacement))
                .into_owned();
            masked = Cow::Owned(replaced);
            counts.total += found;
            *counts.by_pattern.entry(pattern.name.clone()).or_default() += found;
        }
        masked
    }

    /// Masks every string inside a JSON value, at any depth (object keys are left as they are).
    pub fn mask_value(&self, value: &mut Value, counts: &mut MaskedCounts) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.mask_str(text, counts) {
                    *text = masked;
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.mask_value(item, counts)),
            Value::Object(fields) => fields
                .values_mut()
                .for_each(|item| self.mask_value(item, counts)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Masks rows and details of an operation's output.
    pub fn mask_output(&self, output: &mut OperationOutput, counts: &mut MaskedCounts) {
        for row in &mut output.rows {
            row.iter_mut()
                .for_each(|cell| self.mask_value(cell, counts));
        }
        if let Some(details) = output.details.as_mut() {
            self.mask_value(details, counts);
        }
    }

    /// Masks a payload in place and reports what was replaced.
    pub fn mask_payload(&self, payload: &mut MaskPayload) -> MaskedCounts {
        let mut counts = MaskedCounts::default();
        match payload {
            MaskPayload::Output(output) => self.mask_output(output, &mut counts),
            MaskPayload::Text(text) => {
                if let Cow::Owned(masked) = self.mask_str(text, &mut counts) {
                    *text = masked;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use relay_config::MaskPattern;
    use serde_json::json;

    fn seed_engine() -> MaskingEngine {
        MaskingEngine::from_config(&Masking {
            enabled: true,
            patterns: vec![
                MaskPattern {
                    name: "cpf".into(),
                    regex: r"\d{3}\.\d{3}\.\d{3}-\d{2}".into(),
                    replacement: "***.***.***-**".into(),
                },
                MaskPattern {
                    name: "email".into(),
                    regex: r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}".into(),
                    replacement: "***@***.***".into(),
                },
            ],
        })
        .unwrap()
    }

    #[test]
    fn clean_text_is_borrowed() {
        let mut counts = MaskedCounts::default();
        assert!(matches!(
            seed_engine().mask_str("nothing here", &mut counts),
            Cow::Borrowed(_)
        ));
        assert_eq!(counts.total, 0);
    }

    #[test]
    fn masks_and_counts_per_pattern() {
        let mut counts = MaskedCounts::default();
        let text = "ana@example.com and bo@x.io, cpf 123.456.789-09";
        let masked = seed_engine().mask_str(text, &mut counts);
        assert_eq!(masked, "***@***.*** and ***@***.***, cpf ***.***.***-**");
        assert_eq!(counts.total, 3);
        assert_eq!(counts.by_pattern["email"], 2);
        assert_eq!(counts.by_pattern["cpf"], 1);
    }

    #[test]
    fn replacement_is_literal() {
        let engine = MaskingEngine::from_config(&Masking {
            enabled: true,
            patterns: vec![MaskPattern {
                name: "digits".into(),
                regex: r"(\d+)".into(),
                replacement: "$1-kept?".into(),
            }],
        })
        .unwrap();
        let mut counts = MaskedCounts::default();
        assert_eq!(engine.mask_str("a 42", &mut counts), "a $1-kept?");
    }

    #[test]
    fn masks_nested_json_values() {
        let mut output = OperationOutput {
            rows: vec![vec![
                json!(1),
                json!({"contact": {"emails": ["ana@example.com"]}}),
            ]],
            details: Some(json!({"note": "cpf 123.456.789-09"})),
            ..OperationOutput::default()
        };
        let mut counts = MaskedCounts::default();
        seed_engine().mask_output(&mut output, &mut counts);
        assert_eq!(output.rows[0][1]["contact"]["emails"][0], "***@***.***");
        assert_eq!(output.details.unwrap()["note"], "cpf ***.***.***-**");
        assert_eq!(counts.total, 2);
    }

    #[test]
    fn disabled_masking_masks_nothing() {
        let mut config = Masking {
            enabled: false,
            patterns: vec![],
        };
        config.patterns.push(MaskPattern {
            name: "all".into(),
            regex: ".+".into(),
            replacement: "x".into(),
        });
        let engine = MaskingEngine::from_config(&config).unwrap();
        let mut payload = MaskPayload::Text("ana@example.com".into());
        assert_eq!(engine.mask_payload(&mut payload).total, 0);
    }
}
