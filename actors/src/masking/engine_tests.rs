//! Masking engine tests: the seed's patterns, every built-in with true and false positives, column
//! rules, nested JSON, counts, limits, and a property test with planted values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::protocol::Column;
use proptest::prelude::*;
use relay_config::{Builtins, ColumnRule, MaskPattern, MaskStrategy, Masking, Secret};
use serde_json::json;

fn seed_patterns() -> Vec<MaskPattern> {
    vec![
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
    ]
}

fn engine(
    patterns: Vec<MaskPattern>,
    builtins: Builtins,
    columns: Vec<ColumnRule>,
) -> MaskingEngine {
    MaskingEngine::from_config(&Masking {
        enabled: true,
        patterns,
        builtins,
        columns,
        hash_key: Some(Secret::new("0123456789abcdef".into())),
    })
    .unwrap()
}

fn seed_only() -> MaskingEngine {
    let none = Builtins::none();
    engine(seed_patterns(), none, vec![])
}

fn builtins_only(builtins: Builtins) -> MaskingEngine {
    engine(vec![], builtins, vec![])
}

fn mask(engine: &MaskingEngine, text: &str) -> (String, MaskedCounts) {
    let mut counts = MaskedCounts::default();
    let masked = engine.mask_str(text, &mut counts).into_owned();
    (masked, counts)
}

#[test]
fn clean_text_is_borrowed() {
    let mut counts = MaskedCounts::default();
    let defaults = builtins_only(Builtins::default());
    assert!(matches!(
        defaults.mask_str("nothing here, id 42", &mut counts),
        Cow::Borrowed(_)
    ));
    assert_eq!(counts.total, 0);
}

#[test]
fn seed_patterns_mask_and_count_per_pattern() {
    let (masked, counts) = mask(
        &seed_only(),
        "ana@example.com and bo@x.io, cpf 123.456.789-09",
    );
    assert_eq!(masked, "***@***.*** and ***@***.***, cpf ***.***.***-**");
    assert_eq!(
        (
            counts.total,
            counts.by_pattern["email"],
            counts.by_pattern["cpf"]
        ),
        (3, 2, 1)
    );
}

#[test]
fn configured_replacement_is_literal() {
    let pattern = MaskPattern {
        name: "digits".into(),
        regex: r"(\d+)".into(),
        replacement: "$1-kept?".into(),
    };
    let engine = engine(vec![pattern], Builtins::default(), vec![]);
    assert_eq!(mask(&engine, "a 42").0, "a $1-kept?");
}

#[test]
fn every_builtin_has_true_and_false_positives() {
    let all = Builtins {
        ipv4: true,
        ipv6: true,
        ..Builtins::default()
    };
    let engine = builtins_only(all);
    let cases: &[(&str, &str, &str)] = &[
        (
            "email",
            "write to ana.souza@example.com now",
            "write to ana.souza at example dot com",
        ),
        ("cpf", "cpf 529.982.247-25 ok", "order 529.982.247-26 ok"),
        ("cpf", "bare 52998224725 ok", "bare 52998224726 ok"),
        ("cnpj", "cnpj 11.222.333/0001-81", "cnpj 11.222.333/0001-80"),
        (
            "creditCard",
            "card 4111 1111 1111 1111",
            "card 4111 1111 1111 1112",
        ),
        (
            "creditCard",
            "card 5500-0000-0000-0004",
            "ref 1234-5678-9012-3456",
        ),
        ("phone", "call +5511912345678", "call 12345"),
        ("phone", "cel (11) 91234-5678", "version 2024-01"),
        (
            "iban",
            "iban GB82 WEST 1234 5698 7654 32",
            "iban GB82 WEST 1234 5698 7654 33",
        ),
        ("ipv4", "from 192.168.10.1", "version 1.2.3"),
        ("ipv6", "from 2001:db8::1", "at 10:30:00"),
        (
            "jwt",
            "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "eyJ alone",
        ),
        ("awsAccessKey", "key AKIAIOSFODNN7EXAMPLE", "key AKIA-short"),
        (
            "privateKey",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----",
        ),
        (
            "urlSecret",
            "postgres://app:hunter2@db/app",
            "postgres://db/app",
        ),
        (
            "urlSecret",
            "https://x.io/cb?token=abc123&x=1",
            "https://x.io/cb?tokens",
        ),
    ];
    for (name, positive, negative) in cases {
        let (masked, counts) = mask(&engine, positive);
        assert!(
            counts.by_pattern.get(*name).copied().unwrap_or(0) >= 1,
            "{name} missed in {positive:?} -> {masked:?}"
        );
        let (unchanged, counts) = mask(&engine, negative);
        assert_eq!(
            counts.by_pattern.get(*name),
            None,
            "{name} false positive in {negative:?} -> {unchanged:?}"
        );
    }
    assert_eq!(
        mask(&engine, "postgres://app:hunter2@db/app").0,
        "postgres://app:***@db/app"
    );
    assert_eq!(
        mask(&engine, "?password=s3cret&user=a").0,
        "?password=***&user=a"
    );
}

#[test]
fn ip_addresses_are_off_by_default() {
    let (masked, counts) = mask(&builtins_only(Builtins::default()), "from 192.168.10.1");
    assert_eq!((masked.as_str(), counts.total), ("from 192.168.10.1", 0));
}

#[test]
fn error_messages_are_masked() {
    let message = r#"invalid input syntax for type integer: "ana@example.com""#;
    let mut payload = MaskPayload::Text(message.into());
    let counts = seed_only().mask_payload(&mut payload);
    assert_eq!(
        payload,
        MaskPayload::Text(r#"invalid input syntax for type integer: "***@***.***""#.into())
    );
    assert_eq!(counts.total, 1);
}

#[test]
fn nested_json_and_column_rules() {
    let rules = vec![
        ColumnRule {
            name: Some("password".into()),
            regex: None,
            table: None,
            strategy: MaskStrategy::Redact,
            replacement: "***".into(),
            keep: 4,
        },
        ColumnRule {
            name: None,
            regex: Some("^card".into()),
            table: None,
            strategy: MaskStrategy::Partial,
            replacement: "***".into(),
            keep: 4,
        },
        ColumnRule {
            name: Some("cpf".into()),
            regex: None,
            table: None,
            strategy: MaskStrategy::Hash,
            replacement: "***".into(),
            keep: 4,
        },
    ];
    let engine = engine(seed_patterns(), Builtins::default(), rules);
    let columns = ["id", "PASSWORD", "card_number", "profile"]
        .iter()
        .map(|name| Column {
            name: (*name).into(),
            type_name: "text".into(),
        })
        .collect();
    let mut output = OperationOutput {
        columns,
        rows: vec![vec![
            json!(1),
            json!("hunter2"),
            json!("4111111111111111"),
            json!({"contact": {"emails": ["ana@example.com"], "cpf": "123.456.789-09", "password": null}}),
        ]],
        details: Some(json!({"note": "cpf 123.456.789-09"})),
        ..OperationOutput::default()
    };
    let mut counts = MaskedCounts::default();
    engine.mask_output(&mut output, &mut counts);
    let row = &output.rows[0];
    assert_eq!(row[1], "***");
    assert_eq!(row[2], "************1111");
    assert_eq!(row[3]["contact"]["emails"][0], "***@***.***");
    assert!(row[3]["contact"]["cpf"]
        .as_str()
        .unwrap()
        .starts_with("hash:"));
    assert_eq!(row[3]["contact"]["password"], Value::Null);
    assert_eq!(output.details.unwrap()["note"], "cpf ***.***.***-**");
    assert_eq!(counts.by_pattern["column:password"], 1);
    assert_eq!(counts.by_pattern["column:cpf"], 1);
}

#[test]
fn disabled_masking_masks_nothing() {
    let masking = Masking {
        enabled: false,
        patterns: seed_patterns(),
        ..Masking::default()
    };
    let engine = MaskingEngine::from_config(&masking).unwrap();
    let mut payload = MaskPayload::Text("ana@example.com".into());
    assert_eq!(engine.mask_payload(&mut payload).total, 0);
}

#[test]
fn pathological_values_are_bounded() {
    let engine = engine(seed_patterns(), Builtins::default(), vec![]);
    let hostile = "@.".repeat(200_000);
    let (masked, _) = mask(&engine, &hostile);
    assert_eq!(masked, hostile);
    let huge = "a@b.co ".repeat(MAX_MASKED_VALUE_BYTES / 7 + 1);
    let (masked, counts) = mask(&engine, &huge);
    assert_eq!(
        (masked.as_str(), counts.by_pattern["oversized"]),
        (OVERSIZED_REPLACEMENT, 1)
    );
}

/// The seed patterns plus default built-ins, compiled once for the property tests.
fn shared_engine() -> &'static MaskingEngine {
    static ENGINE: std::sync::OnceLock<MaskingEngine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| engine(seed_patterns(), Builtins::default(), vec![]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn planted_values_never_survive(
        words in proptest::collection::vec("[a-z ]{0,12}", 1..6),
        user in "[a-z]{1,8}",
        domain in "[a-z]{2,8}",
        cpf_digits in proptest::collection::vec(0u32..10, 9),
    ) {
        let engine = shared_engine();
        let email = format!("{user}@{domain}.com");
        let cpf = planted_cpf(&cpf_digits);
        let text = format!("{} {email} {} {cpf} {}", words[0], words.last().unwrap(), words.join(" "));
        let (masked, _) = mask(engine, &text);
        prop_assert!(!masked.contains(&email), "{masked}");
        prop_assert!(!masked.contains(&cpf), "{masked}");
    }

    #[test]
    fn clean_text_survives_unchanged(text in "[a-zA-Z ,.!?-]{0,200}") {
        let (masked, counts) = mask(shared_engine(), &text);
        prop_assert_eq!(masked, text);
        prop_assert_eq!(counts.total, 0);
    }
}

/// A formatted CPF with valid check digits from nine random digits.
fn planted_cpf(digits: &[u32]) -> String {
    let check = |d: &[u32], start: u32| {
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, v)| v * (start - i as u32))
            .sum();
        let rest = sum % 11;
        if rest < 2 {
            0
        } else {
            11 - rest
        }
    };
    let mut d = digits.to_vec();
    d.push(check(&d, 10));
    d.push(check(&d, 11));
    let s: String = d
        .iter()
        .map(|v| char::from_digit(*v, 10).unwrap_or('0'))
        .collect();
    format!("{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
}

#[test]
fn a_rejected_candidate_gives_later_detectors_their_chance() {
    // 14 bare digits: a CNPJ candidate with wrong check digits, but a Luhn-valid card number.
    let engine = builtins_only(Builtins::default());
    let (masked, counts) = mask(&engine, "ref 30569309025904 end");
    assert!(!crate::masking::validators::is_cnpj("30569309025904"));
    assert!(crate::masking::validators::is_card_number("30569309025904"));
    assert_eq!(masked, "ref [card] end");
    assert_eq!(counts.by_pattern.get("creditCard"), Some(&1));
    // A rejected candidate does not hide a valid one that starts inside it.
    let (masked, _) = mask(&engine, "x 529.982.247-26 and 529.982.247-25");
    assert_eq!(masked, "x 529.982.247-26 and ***.***.***-**");
}

#[test]
fn secrets_in_urls_and_connection_strings_keep_their_shape() {
    let engine = builtins_only(Builtins::default());
    let (masked, counts) = mask(
        &engine,
        "dsn postgres://app:s3cr%C3t@db:5432/x and host=db password=pässwörd;user=app",
    );
    assert_eq!(
        masked,
        "dsn postgres://app:***@db:5432/x and host=db password=***;user=app"
    );
    assert_eq!(counts.by_pattern.get("urlSecret"), Some(&2));
}

#[path = "detector_tests.rs"]
mod detectors;
#[path = "property_tests.rs"]
mod properties;
#[path = "value_tests.rs"]
mod values;
