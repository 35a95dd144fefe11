//! Validation of the name patterns a resource is judged by: `allowedFunctions`,
//! `allowedRelations` and `tables.allow` / `tables.deny`, each with its key path.

use crate::check::Checker;
use crate::error::{index_path, key_path};
use crate::resource::{Resource, ResourceType};

/// A name pattern that is not of the shape its key takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern \"{entry}\": expected {expected}, where * matches within a name")]
pub(crate) struct InvalidPattern {
    entry: String,
    /// The shapes the key takes, e.g. `schema.name`.
    expected: &'static str,
}

/// Checks every pattern of the resource at `at` (a mongodb resource has no function or
/// relation patterns: the schema refuses those keys on it).
pub(crate) fn check(check: &mut Checker, resource: &Resource, at: &str) {
    for (key, entries) in [
        ("allowedFunctions", &resource.allowed_functions),
        ("allowedRelations", &resource.allowed_relations),
    ] {
        let key_at = key_path(at, key);
        let qualified_only = key == "allowedRelations";
        for (index, entry) in entries.iter().enumerate() {
            if let Err(problem) = pattern(entry, qualified_only, resource.kind) {
                check.push(index_path(&key_at, index), problem.to_string());
            }
        }
    }
    let tables_at = key_path(at, "tables");
    if resource.tables.allow.as_ref().is_some_and(Vec::is_empty) {
        check.push(
            key_path(&tables_at, "allow"),
            "must not be empty; leave it out to allow everything the user can read",
        );
    }
    let allow = resource.tables.allow.iter().flatten();
    let lists = [
        ("allow", allow.collect::<Vec<_>>()),
        ("deny", resource.tables.deny.iter().collect()),
    ];
    for (key, entries) in lists {
        for (index, entry) in entries.into_iter().enumerate() {
            if let Err(problem) = pattern(entry, true, resource.kind) {
                check.push(
                    index_path(&key_path(&tables_at, key), index),
                    problem.to_string(),
                );
            }
        }
    }
}

/// A pattern `name` or `schema.name` (postgres) or `database.collection` (mongodb): parts of
/// identifier characters and `*`, or double-quoted.
fn pattern(entry: &str, qualified_only: bool, kind: ResourceType) -> Result<(), InvalidPattern> {
    let shape = match kind {
        ResourceType::Postgres if qualified_only => "schema.name",
        ResourceType::Postgres => "name or schema.name",
        ResourceType::Mongodb => "database.collection",
    };
    let invalid = || InvalidPattern {
        entry: entry.to_owned(),
        expected: shape,
    };
    let parts = split_parts(entry).ok_or_else(invalid)?;
    let well_formed = match (kind, parts.as_slice()) {
        (ResourceType::Mongodb, [database, collection]) => {
            is_part(database, false) && is_part(collection, true)
        }
        (ResourceType::Postgres, [name]) if !qualified_only => is_part(name, false),
        (ResourceType::Postgres, [schema, name]) => is_part(schema, false) && is_part(name, false),
        _ => false,
    };
    well_formed.then_some(()).ok_or_else(invalid)
}

/// A column rule's `table`: a PostgreSQL `name` or `schema.name`, or a MongoDB
/// `database.collection`.
pub(crate) fn table_pattern(entry: &str) -> Result<(), InvalidPattern> {
    pattern(entry, false, ResourceType::Postgres)
        .or_else(|_| pattern(entry, true, ResourceType::Mongodb))
        .map_err(|_| InvalidPattern {
            entry: entry.to_owned(),
            expected: "name, schema.name or database.collection",
        })
}

/// Splits at dots outside double quotes; a MongoDB collection keeps the dots after the first.
fn split_parts(entry: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (at, c) in entry.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted && parts.is_empty() => {
                parts.push(&entry[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    (!quoted).then(|| {
        parts.push(&entry[start..]);
        parts
    })
}

fn is_part(part: &str, dots_allowed: bool) -> bool {
    if let Some(quoted) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        return !quoted.is_empty();
    }
    !part.is_empty()
        && part.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '$' | '*') || (dots_allowed && c == '.')
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::Config;

    fn problems(kind: &str, extra: &str) -> Vec<String> {
        let connection = match kind {
            "postgres" => "      host: db\n      database: app\n      user: reader\n",
            _ => "      uri: 'mongodb://db/app'\n",
        };
        let text = format!(
            "controlPlane:\n  url: wss://cp.example.com/v1/relay/connect\n  token: t\n  tenantId: acme\n\
resources:\n  - id: r\n    type: {kind}\n    connection:\n{connection}{extra}"
        );
        match Config::from_yaml_str(&text, "test.yaml", &|_| None) {
            Ok(_) => Vec::new(),
            Err(err) => err.problems().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn patterns_are_checked_with_their_key_paths() {
        let found = problems(
            "postgres",
            "    allowedFunctions: [my_fn, 'reporting.*', 'bad name', a.b.c]\n    allowedRelations: [public.v, v]\n    tables:\n      allow: ['public.*', '\"Odd.Schema\".t']\n      deny: [secret, 'public.']\n",
        );
        assert_eq!(found.len(), 5, "{found:?}");
        for path in [
            "resources[0].allowedFunctions[2]",
            "resources[0].allowedFunctions[3]",
            "resources[0].allowedRelations[1]",
            "resources[0].tables.deny[0]",
            "resources[0].tables.deny[1]",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(path)),
                "{path}: {found:?}"
            );
        }
        assert!(problems(
            "postgres",
            "    tables: {allow: ['public.orders'], deny: ['public.secret*']}\n"
        )
        .is_empty());
    }

    #[test]
    fn an_empty_allow_list_and_postgres_keys_on_mongodb_are_problems() {
        let found = problems("postgres", "    tables: {allow: []}\n");
        assert!(
            found[0].starts_with("resources[0].tables.allow: must not be empty"),
            "{found:?}"
        );
        let found = problems("mongodb", "    allowedRelations: [public.v]\n    tables: {allow: ['app.logs.2024', 'app.*'], deny: [app]}\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("allowedRelations: applies to postgres resources only"));
        assert!(found[1].starts_with("resources[0].tables.deny[0]"));
    }
}
