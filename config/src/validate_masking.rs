//! Validation of `masking.columns` and `masking.hashKey`. Every problem is collected.

use crate::check::{regex_problem, Checker};
use crate::error::{index_path, key_path};
use crate::masking::MaskStrategy;
use crate::model::Masking;

/// Each rule names a column one way, its regex compiles, `keep` is in range, and a `hash` rule
/// has a key to hash with.
pub(crate) fn columns(check: &mut Checker, masking: &Masking, path: &str) {
    let columns_path = key_path(path, "columns");
    for (index, rule) in masking.columns.iter().enumerate() {
        let at = index_path(&columns_path, index);
        match (&rule.name, &rule.regex) {
            (Some(_), Some(_)) => check.push(&at, "give either name or regex, not both"),
            (None, None) => check.push(&at, "needs a name or a regex"),
            (Some(name), None) if name.trim().is_empty() => {
                check.push(key_path(&at, "name"), "must not be empty")
            }
            (None, Some(regex)) => {
                if let Some(message) = regex_problem(regex) {
                    check.push(key_path(&at, "regex"), message);
                }
            }
            _ => {}
        }
        if let Some(table) = &rule.table {
            if let Err(problem) = crate::validate_scope::table_pattern(table) {
                check.push(key_path(&at, "table"), problem.to_string());
            }
        }
        check.range(key_path(&at, "keep"), rule.keep, 0..=64);
        if rule.strategy == MaskStrategy::Hash && masking.hash_key.is_none() {
            check.push(key_path(&at, "strategy"), "hash needs masking.hashKey");
        }
    }
    if masking
        .hash_key
        .as_ref()
        .is_some_and(|key| key.expose().len() < 16)
    {
        check.push(key_path(path, "hashKey"), "must be at least 16 characters");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::{Config, MaskStrategy};

    const BASE: &str = "controlPlane:\n  url: wss://cp.example.com/v1/relay/connect\n  token: t\n  tenantId: acme\n\
resources:\n  - id: pg\n    type: postgres\n    connection: {host: db, database: app, user: reader}\n";

    #[test]
    fn builtins_default_on_except_ip_addresses() {
        let config = Config::from_yaml_str(BASE, "t.yaml", &|_| None).unwrap();
        let enabled = config.masking.builtins.enabled();
        assert!(enabled.contains(&"email") && enabled.contains(&"creditCard"));
        assert!(!enabled.contains(&"ipv4") && !enabled.contains(&"ipv6"));
    }

    #[test]
    fn columns_and_builtins_load() {
        let text = format!(
            "{BASE}masking:\n  builtins: {{ipv4: true, phone: false}}\n  hashKey: ${{KEY}}\n  columns:\n    \
- {{name: password}}\n    - {{regex: '(^|_)token$', strategy: partial, keep: 2}}\n    - {{name: cpf, strategy: hash}}\n"
        );
        let env = |name: &str| (name == "KEY").then(|| "0123456789abcdef0123".to_owned());
        let config = Config::from_yaml_str(&text, "t.yaml", &env).unwrap();
        let masking = &config.masking;
        assert!(masking.builtins.ipv4 && !masking.builtins.phone);
        assert_eq!(masking.columns[0].strategy, MaskStrategy::Redact);
        assert_eq!(masking.columns[0].replacement, "***");
        assert_eq!(
            (masking.columns[1].strategy, masking.columns[1].keep),
            (MaskStrategy::Partial, 2)
        );
        assert!(!format!("{masking:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn column_problems_are_reported_with_their_paths() {
        let text = format!(
            "{BASE}masking:\n  builtins: {{phonee: true}}\n  columns:\n    - {{}}\n    - {{name: a, regex: b}}\n    \
- {{regex: '('}}\n    - {{name: x, strategy: hash, keep: 99}}\n    - {{name: y, table: 'a.b c'}}\n    \
- {{name: z, table: 'public.cust*'}}\n    - {{name: z, table: 'app.events.2026'}}\n"
        );
        let err = Config::from_yaml_str(&text, "t.yaml", &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("masking.builtins.phonee"), "{err}");
        let text = text.replace("  builtins: {phonee: true}\n", "");
        let err = Config::from_yaml_str(&text, "t.yaml", &|_| None)
            .unwrap_err()
            .to_string();
        for expected in [
            "masking.columns[0]: needs a name or a regex",
            "masking.columns[1]: give either name or regex",
            "masking.columns[2].regex: invalid regex",
            "masking.columns[3].keep",
            "masking.columns[3].strategy: hash needs masking.hashKey",
            "masking.columns[4].table: invalid pattern \"a.b c\"",
        ] {
            assert!(err.contains(expected), "missing {expected} in:\n{err}");
        }
        assert!(!err.contains("masking.columns[5]") && !err.contains("masking.columns[6]"));
    }
}
