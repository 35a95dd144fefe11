//! Name patterns of the configuration: `schema.name` (or `database.collection`) where `*` matches
//! any run of characters within a part. Like unquoted SQL identifiers, parts are folded to lower
//! case unless written in double quotes (`public."Orders"`), and then compared exactly. They choose
//! the objects an operator vouches for (`allowedFunctions`, `allowedRelations`) and a resource's
//! table scope (`tables.allow`, `tables.deny`). Pure.

use super::catalog::QualifiedName;

/// One part of a name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// A part as written: folded to lower case, or kept as it is inside double quotes.
    pub fn new(part: &str) -> Self {
        let part = part.trim();
        match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(quoted) => Glob(quoted.replace("\"\"", "\"")),
            None => Glob(part.to_lowercase()),
        }
    }

    /// Whether `text` matches, `*` standing for any run of characters (including none).
    pub fn matches(&self, text: &str) -> bool {
        let mut pieces = self.0.split('*');
        let first = pieces.next().unwrap_or_default();
        let Some(mut rest) = text.strip_prefix(first) else {
            return false;
        };
        let pieces: Vec<&str> = pieces.collect();
        let Some((last, middle)) = pieces.split_last() else {
            return rest.is_empty();
        };
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

/// `schema.name`, or `name` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    pub schema: Option<Glob>,
    pub name: Glob,
}

impl NamePattern {
    /// Splits at the first dot outside double quotes: a MongoDB collection's name may hold dots,
    /// a database's may not.
    pub fn parse(pattern: &str) -> Self {
        let mut quoted = false;
        let dot = pattern.char_indices().find_map(|(at, c)| match c {
            '"' => {
                quoted = !quoted;
                None
            }
            '.' if !quoted => Some(at),
            _ => None,
        });
        match dot {
            Some(at) => NamePattern {
                schema: Some(Glob::new(&pattern[..at])),
                name: Glob::new(&pattern[at + 1..]),
            },
            None => NamePattern {
                schema: None,
                name: Glob::new(pattern),
            },
        }
    }

    /// Whether a qualified object matches; an unqualified pattern never does.
    pub fn matches_qualified(&self, object: &QualifiedName) -> bool {
        self.schema
            .as_ref()
            .is_some_and(|schema| schema.matches(&object.schema) && self.name.matches(&object.name))
    }
}

/// Which relations (or collections) a resource may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableScope {
    /// Empty: everything the role can read.
    pub allow: Vec<NamePattern>,
    pub deny: Vec<NamePattern>,
}

impl TableScope {
    pub fn new(allow: &[String], deny: &[String]) -> Self {
        let parse = |patterns: &[String]| patterns.iter().map(|p| NamePattern::parse(p)).collect();
        TableScope {
            allow: parse(allow),
            deny: parse(deny),
        }
    }

    /// Deny wins; with no `allow`, whatever is not denied is allowed.
    pub fn permits(&self, object: &QualifiedName) -> bool {
        let denied = self.deny.iter().any(|p| p.matches_qualified(object));
        let allowed =
            self.allow.is_empty() || self.allow.iter().any(|p| p.matches_qualified(object));
        allowed && !denied
    }

    /// Whether the scope restricts anything at all.
    pub fn restricts(&self) -> bool {
        !(self.allow.is_empty() && self.deny.is_empty())
    }

    /// The `LIKE` patterns (schema, name) of a list, for filtering catalog listings on the server:
    /// `*` becomes `%`, and `%`, `_` and `\` are escaped.
    pub fn like_patterns(patterns: &[NamePattern]) -> (Vec<String>, Vec<String>) {
        patterns
            .iter()
            .filter_map(|p| Some((like(p.schema.as_ref()?), like(&p.name))))
            .unzip()
    }
}

fn like(glob: &Glob) -> String {
    let mut out = String::with_capacity(glob.0.len() + 4);
    for c in glob.0.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(schema: &str, name: &str) -> QualifiedName {
        QualifiedName::new(schema, name)
    }

    #[test]
    fn globs_match_within_a_part_as_sql_folds_names() {
        let cases = [
            ("orders", "orders", true),
            ("Orders", "orders", true),
            ("orders", "Orders", false),
            ("\"Orders\"", "Orders", true),
            ("\"Orders\"", "orders", false),
            ("orders", "orders_2024", false),
            ("orders*", "orders_2024", true),
            ("*_2024", "orders_2024", true),
            ("o*s*4", "orders_2024", true),
            ("o*x*4", "orders_2024", false),
            ("*", "", true),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                Glob::new(pattern).matches(text),
                expected,
                "{pattern} ~ {text}"
            );
        }
    }

    #[test]
    fn deny_wins_and_no_allow_allows_the_rest() {
        let scope = TableScope::new(&[], &["public.secret*".into()]);
        assert!(scope.permits(&q("public", "orders")));
        assert!(!scope.permits(&q("public", "secrets")));
        let scope = TableScope::new(
            &["public.*".into(), "pg_catalog.pg_stat_activity".into()],
            &["public.customers".into()],
        );
        assert!(scope.permits(&q("public", "orders")));
        assert!(scope.permits(&q("pg_catalog", "pg_stat_activity")));
        assert!(!scope.permits(&q("public", "customers")));
        assert!(!scope.permits(&q("pg_catalog", "pg_class")));
        assert!(!scope.permits(&q("other", "orders")));
        assert!(scope.restricts());
        assert!(!TableScope::default().restricts());
    }

    #[test]
    fn collections_may_hold_dots_after_the_database() {
        let pattern = NamePattern::parse("app.logs.*");
        assert!(pattern.matches_qualified(&q("app", "logs.2024")));
        assert!(!pattern.matches_qualified(&q("app", "logs")));
        assert!(!NamePattern::parse("orders").matches_qualified(&q("public", "orders")));
        let quoted = NamePattern::parse("\"My.Schema\".\"T\"");
        assert!(quoted.matches_qualified(&q("My.Schema", "T")));
    }

    #[test]
    fn like_patterns_escape_what_like_would_read() {
        let patterns = [NamePattern::parse("pub_lic.ord%ers*")];
        let (schemas, names) = TableScope::like_patterns(&patterns);
        assert_eq!(schemas, [r"pub\_lic"]);
        assert_eq!(names, [r"ord\%ers%"]);
    }
}
