//! Column rules: columns and JSON fields whose whole value is replaced, by name or name pattern.

use hmac::{Hmac, KeyInit, Mac};
use regex::RegexSet;
use relay_config::{ColumnRule, MaskStrategy};
use serde_json::Value;
use sha2::Sha256;

/// Compiled `masking.columns`.
pub struct ColumnRules {
    rules: Vec<ColumnRule>,
    /// Exact names, lowercased, with their rule index.
    exact: Vec<(String, usize)>,
    /// Name patterns (case-insensitive), with their rule indexes.
    patterns: RegexSet,
    pattern_rules: Vec<usize>,
    hash_key: Vec<u8>,
}

impl ColumnRules {
    pub fn new(rules: &[ColumnRule], hash_key: Option<&str>) -> Result<Self, regex::Error> {
        let mut exact = Vec::new();
        let mut sources = Vec::new();
        let mut pattern_rules = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if let Some(name) = &rule.name {
                exact.push((name.to_lowercase(), index));
            }
            if let Some(regex) = &rule.regex {
                sources.push(format!("(?i){regex}"));
                pattern_rules.push(index);
            }
        }
        Ok(ColumnRules {
            rules: rules.to_vec(),
            exact,
            patterns: RegexSet::new(sources)?,
            pattern_rules,
            hash_key: hash_key.unwrap_or_default().as_bytes().to_vec(),
        })
    }

    /// The rule for a column or field name, if any; the first configured rule wins.
    pub fn rule_for(&self, name: &str) -> Option<&ColumnRule> {
        if self.rules.is_empty() {
            return None;
        }
        // Called for every cell and field: ASCII names (nearly all) compare without allocating.
        let lower = (!name.is_ascii()).then(|| name.to_lowercase());
        let same = |rule_name: &str| match &lower {
            None => rule_name.eq_ignore_ascii_case(name),
            Some(lower) => rule_name == lower,
        };
        let exact = self.exact.iter().find(|(n, _)| same(n)).map(|(_, i)| *i);
        let pattern = self
            .patterns
            .matches(name)
            .iter()
            .map(|m| self.pattern_rules[m])
            .min();
        let index = match (exact, pattern) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        self.rules.get(index)
    }

    /// Replaces a whole value by the rule's strategy; `null` stays `null`.
    pub fn apply(&self, rule: &ColumnRule, value: &mut Value) {
        let text = match &mut *value {
            Value::Null => return,
            Value::String(text) => std::mem::take(text),
            other => other.to_string(),
        };
        *value = Value::String(match rule.strategy {
            MaskStrategy::Redact => rule.replacement.clone(),
            MaskStrategy::Partial => partial(&text, rule.keep as usize),
            MaskStrategy::Hash => self.keyed_hash(&text),
        });
    }

    /// `hash:` and the first 16 hex digits of HMAC-SHA256(key, value): equal values stay equal.
    fn keyed_hash(&self, text: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.hash_key) else {
            // HMAC takes keys of any length; this cannot happen, and a fixed text leaks nothing.
            return "hash:unavailable".to_owned();
        };
        mac.update(text.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("hash:{hex}")
    }
}

/// All but the last `keep` characters become `*`; short values are masked whole.
fn partial(text: &str, keep: usize) -> String {
    let count = text.chars().count();
    if count <= keep {
        return "*".repeat(count.max(1));
    }
    let kept: String = text.chars().skip(count - keep).collect();
    format!("{}{kept}", "*".repeat(count - keep))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(name: Option<&str>, regex: Option<&str>, strategy: MaskStrategy) -> ColumnRule {
        ColumnRule {
            name: name.map(str::to_owned),
            regex: regex.map(str::to_owned),
            strategy,
            replacement: "[redacted]".into(),
            keep: 4,
        }
    }

    #[test]
    fn matches_names_exactly_or_by_pattern_ignoring_case() {
        let rules = ColumnRules::new(
            &[
                rule(Some("password"), None, MaskStrategy::Redact),
                rule(None, Some("(^|_)token$"), MaskStrategy::Partial),
            ],
            None,
        )
        .unwrap();
        assert!(rules.rule_for("PassWord").is_some());
        assert_eq!(
            rules.rule_for("api_TOKEN").unwrap().strategy,
            MaskStrategy::Partial
        );
        assert!(rules.rule_for("tokens").is_none());
        assert!(rules.rule_for("password_hint").is_none());
    }

    #[test]
    fn strategies() {
        let rules = ColumnRules::new(&[], Some("0123456789abcdef")).unwrap();
        let mut value = json!("4111111111111111");
        rules.apply(&rule(None, None, MaskStrategy::Partial), &mut value);
        assert_eq!(value, "************1111");
        let mut value = json!(12345);
        rules.apply(&rule(None, None, MaskStrategy::Redact), &mut value);
        assert_eq!(value, "[redacted]");
        let (mut a, mut b, mut c) = (json!("ana"), json!("ana"), json!("bo"));
        for v in [&mut a, &mut b, &mut c] {
            rules.apply(&rule(None, None, MaskStrategy::Hash), v);
        }
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.as_str().unwrap().starts_with("hash:") && a.as_str().unwrap().len() == 21);
        let mut null = Value::Null;
        rules.apply(&rule(None, None, MaskStrategy::Redact), &mut null);
        assert_eq!(null, Value::Null);
        assert_eq!(partial("ab", 4), "**");
    }
}
