//! Column rules: columns and JSON fields whose whole value is replaced, by name or name pattern.

use crate::policy::catalog::QualifiedName;
use crate::policy::patterns::NamePattern;
use hmac::{Hmac, KeyInit, Mac};
use regex::RegexSet;
use relay_config::{ColumnRule, MaskStrategy};
use serde_json::Value;
use sha2::Sha256;

/// Compiled `masking.columns`.
pub struct ColumnRules {
    rules: Vec<ColumnRule>,
    /// Each rule's `table` scope; `None` for a rule of every relation.
    tables: Vec<Option<NamePattern>>,
    /// Every rule by column name.
    all: NameIndex,
    /// The rules without a `table`: they apply to any column or field of their name, wherever it
    /// comes from. A scoped rule applies where the column's source is known to be its table's.
    unscoped: NameIndex,
    hash_key: Vec<u8>,
}

/// Rules by the column names they match.
struct NameIndex {
    /// Exact names, lowercased, with their rule index.
    exact: Vec<(String, usize)>,
    /// Name patterns (case-insensitive), with their rule indexes.
    patterns: RegexSet,
    pattern_rules: Vec<usize>,
}

impl NameIndex {
    fn new<'r>(rules: impl Iterator<Item = (usize, &'r ColumnRule)>) -> Result<Self, regex::Error> {
        let mut exact = Vec::new();
        let mut sources = Vec::new();
        let mut pattern_rules = Vec::new();
        for (index, rule) in rules {
            if let Some(name) = &rule.name {
                exact.push((name.to_lowercase(), index));
            }
            if let Some(regex) = &rule.regex {
                sources.push(format!("(?i){regex}"));
                pattern_rules.push(index);
            }
        }
        Ok(NameIndex {
            exact,
            patterns: RegexSet::new(sources)?,
            pattern_rules,
        })
    }

    /// The first rule matching `name`.
    fn first(&self, name: &str) -> Option<usize> {
        if self.exact.is_empty() && self.pattern_rules.is_empty() {
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
        match (exact, pattern) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Every rule matching `name`, in configured order.
    fn all(&self, name: &str) -> Vec<usize> {
        let lower = name.to_lowercase();
        let mut found: Vec<usize> = self
            .exact
            .iter()
            .filter(|(n, _)| *n == lower)
            .map(|(_, i)| *i)
            .chain(
                self.patterns
                    .matches(name)
                    .iter()
                    .map(|m| self.pattern_rules[m]),
            )
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

impl ColumnRules {
    pub fn new(rules: &[ColumnRule], hash_key: Option<&str>) -> Result<Self, regex::Error> {
        let tables = rules
            .iter()
            .map(|rule| rule.table.as_deref().map(NamePattern::parse))
            .collect();
        Ok(ColumnRules {
            rules: rules.to_vec(),
            tables,
            all: NameIndex::new(rules.iter().enumerate())?,
            unscoped: NameIndex::new(
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| rule.table.is_none()),
            )?,
            hash_key: hash_key.unwrap_or_default().as_bytes().to_vec(),
        })
    }

    /// The rule for a column or field name wherever it comes from, if any (its index): the first
    /// configured rule without a `table` wins.
    pub fn index_for(&self, name: &str) -> Option<usize> {
        self.unscoped.first(name)
    }

    /// The rule at `index`.
    pub fn rule(&self, index: usize) -> Option<&ColumnRule> {
        self.rules.get(index)
    }

    /// Whether some rule, of some table, names `column`.
    pub fn may_protect(&self, column: &str) -> bool {
        self.all.first(column).is_some()
    }

    /// The first rule protecting `column` of `relation` (`schema.table`, `database.collection`).
    pub fn rule_of(&self, relation: &QualifiedName, column: &str) -> Option<usize> {
        self.all
            .all(column)
            .into_iter()
            .find(|index| self.covers(*index, relation))
    }

    /// The rules that apply to some column of `relation`.
    pub fn covering(&self, relation: &QualifiedName) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|index| self.covers(*index, relation))
            .collect()
    }

    /// The rules scoped to `relation` (for a MongoDB collection's fields by name).
    pub fn scoped_to(&self, relation: &QualifiedName) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|index| self.tables[*index].is_some() && self.covers(*index, relation))
            .collect()
    }

    /// The first of `scoped` naming `name`.
    pub fn scoped_for(&self, scoped: &[usize], name: &str) -> Option<usize> {
        self.all
            .all(name)
            .into_iter()
            .find(|index| scoped.contains(index))
    }

    /// The strictest of several rules: `redact` before `partial` and `hash`, then the first
    /// configured.
    pub fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize> {
        rules
            .filter(|index| *index < self.rules.len())
            .min_by_key(|index| (self.rules[*index].strategy != MaskStrategy::Redact, *index))
    }

    fn covers(&self, index: usize, relation: &QualifiedName) -> bool {
        match &self.tables[index] {
            None => true,
            Some(pattern) => match &pattern.schema {
                Some(_) => pattern.matches_qualified(relation),
                None => pattern.name.matches(&relation.name),
            },
        }
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

    impl ColumnRules {
        fn rule_for_test(&self, name: &str) -> Option<&ColumnRule> {
            self.index_for(name).and_then(|index| self.rule(index))
        }
    }

    fn rule(name: Option<&str>, regex: Option<&str>, strategy: MaskStrategy) -> ColumnRule {
        ColumnRule {
            name: name.map(str::to_owned),
            regex: regex.map(str::to_owned),
            table: None,
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
        assert!(rules.rule_for_test("PassWord").is_some());
        assert_eq!(
            rules.rule_for_test("api_TOKEN").unwrap().strategy,
            MaskStrategy::Partial
        );
        assert!(rules.rule_for_test("tokens").is_none());
        assert!(rules.rule_for_test("password_hint").is_none());
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

    #[test]
    fn a_table_scoped_rule_protects_only_its_tables_columns() {
        let scoped = ColumnRule {
            table: Some("public.cust*".into()),
            ..rule(Some("note"), None, MaskStrategy::Partial)
        };
        let rules = ColumnRules::new(
            &[scoped, rule(None, Some("^pass"), MaskStrategy::Redact)],
            None,
        )
        .unwrap();
        let customers = QualifiedName::new("public", "customers");
        let orders = QualifiedName::new("public", "orders");
        assert_eq!(rules.rule_of(&customers, "NOTE"), Some(0));
        assert_eq!(rules.rule_of(&orders, "note"), None);
        assert_eq!(rules.rule_of(&orders, "password"), Some(1));
        assert!(rules.may_protect("note") && !rules.may_protect("notes"));
        // By name alone (no known source), a scoped rule does not apply.
        assert_eq!(rules.index_for("note"), None);
        assert_eq!(rules.scoped_to(&customers), vec![0]);
        assert_eq!(rules.scoped_for(&[0], "Note"), Some(0));
        assert_eq!(
            rules.strictest(&mut [0, 1].into_iter()),
            Some(1),
            "redact first"
        );
        assert_eq!(
            rules.strictest(&mut [0, 7].into_iter()),
            Some(0),
            "unknown ignored"
        );
    }
}
