//! The built-in functions and types of `pg_catalog`, as the policy judges them: each function name is
//! allowed, refused with a reason, or allowed only where it cannot reveal relations outside a
//! resource's table scope. The lists are data files beside this one, reviewed against every function
//! of the server's own `pg_proc`; a name in none of them is refused as not reviewed.
//!
//! A READ ONLY transaction still lets functions signal backends, take advisory locks, read server
//! files, change settings, write large objects, consume sequences, write the WAL or run SQL given
//! as text, so those are refused; everything else only computes on its arguments or reads the
//! catalog. Judging by name is sound for `pg_catalog` because the relay's sessions put it first on
//! the search path and the catalog snapshot catches every overload outside it.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The schema of the built-ins.
pub const BUILTIN_SCHEMA: &str = "pg_catalog";

const ALLOWED: &str = include_str!("builtins/allowed.txt");
const REFUSED: &str = include_str!("builtins/refused.txt");
const REVEALING: &str = include_str!("builtins/revealing.txt");
const TYPES: &str = include_str!("builtins/types.txt");

/// How the policy judges a call of a built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Computes on its arguments or reads the catalog.
    Allowed,
    /// Allowed, except on a resource with table scoping: it reveals other relations.
    Revealing,
    /// Never allowed, for this reason.
    Refused(&'static str),
}

/// The judgement of a `pg_catalog` function name; `None` for a name not reviewed.
pub fn classify(name: &str) -> Option<Builtin> {
    classes().get(name).copied()
}

/// Whether `pg_catalog` has a (non-array) type of this name.
pub fn is_builtin_type(name: &str) -> bool {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| entries(TYPES).map(|(_, name)| name).collect())
        .contains(name)
}

/// The names of the built-in functions a query may call, for catalog queries that skip them.
pub fn allowed_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        classes()
            .iter()
            .filter(|(_, class)| matches!(class, Builtin::Allowed | Builtin::Revealing))
            .map(|(name, _)| *name)
            .collect()
    })
}

/// Every classified name, for the tests that compare the lists with a live server.
pub fn classified_names() -> impl Iterator<Item = (&'static str, Builtin)> {
    classes().iter().map(|(name, class)| (*name, *class))
}

fn classes() -> &'static HashMap<&'static str, Builtin> {
    static CLASSES: OnceLock<HashMap<&'static str, Builtin>> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let mut classes = HashMap::new();
        for (_, name) in entries(ALLOWED) {
            classes.insert(name, Builtin::Allowed);
        }
        for (_, name) in entries(REVEALING) {
            classes.insert(name, Builtin::Revealing);
        }
        // Last, so that a name listed twice by mistake is refused.
        for (reason, name) in entries(REFUSED) {
            classes.insert(name, Builtin::Refused(reason));
        }
        classes
    })
}

/// The `(section, name)` pairs of a list: `#` lines are comments, `[text]` opens a section, other
/// lines hold names separated by white space.
fn entries(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    let mut section = "";
    list.lines().flat_map(move |line| {
        let line = line.trim();
        let names: Vec<(&'static str, &'static str)> = if line.starts_with('#') {
            Vec::new()
        } else if let Some(title) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = title;
            Vec::new()
        } else {
            line.split_whitespace()
                .map(|name| (section, name))
                .collect()
        };
        names
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_classify_names_with_their_reasons() {
        assert_eq!(classify("upper"), Some(Builtin::Allowed));
        assert_eq!(classify("random"), Some(Builtin::Allowed));
        assert_eq!(classify("currval"), Some(Builtin::Allowed));
        assert_eq!(classify("pg_get_viewdef"), Some(Builtin::Revealing));
        let Some(Builtin::Refused(reason)) = classify("pg_advisory_lock") else {
            panic!("pg_advisory_lock must be refused");
        };
        assert!(reason.contains("advisory lock"), "{reason}");
        assert!(matches!(classify("nextval"), Some(Builtin::Refused(_))));
        assert!(matches!(classify("domain_in"), Some(Builtin::Refused(_))));
        assert_eq!(classify("no_such_function"), None);
    }

    #[test]
    fn every_section_has_a_title_and_no_name_is_listed_twice() {
        let mut seen = HashSet::new();
        for list in [ALLOWED, REFUSED, REVEALING] {
            for (section, name) in entries(list) {
                assert!(!section.is_empty(), "{name} outside a section");
                assert!(seen.insert(name), "{name} listed twice");
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{name}"
                );
            }
        }
        assert!(seen.len() > 2500, "{} names", seen.len());
    }

    #[test]
    fn builtin_types_include_the_grammar_and_function_style_casts() {
        for name in [
            "int4", "text", "tsquery", "float8", "pg_lsn", "regclass", "jsonb",
        ] {
            assert!(is_builtin_type(name), "{name}");
        }
        assert!(!is_builtin_type("_int4"));
        assert!(!is_builtin_type("checked_domain"));
    }
}
