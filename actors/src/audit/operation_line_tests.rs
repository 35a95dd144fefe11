//! An operation record sealed from its fields has, byte for byte, the line and the hash that the
//! same record sealed as a map of JSON values has, and its chain verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::chain::{self, Chain, Verdict};
use super::super::record::{
    genesis_body, operation_body, operation_fields, AuditRecord, Outcome, RecordedStatement,
    StatementField,
};
use super::super::statement::Rendered;
use super::seal_operation;
use crate::protocol::{ErrorCode, MaskedCounts};
use serde_json::Value;

fn record(ids: &str, outcome: Outcome, code: Option<ErrorCode>, patterns: &[&str]) -> AuditRecord {
    let mut masked = MaskedCounts::default();
    for (count, pattern) in patterns.iter().enumerate() {
        masked
            .by_pattern
            .insert((*pattern).to_owned(), count as u64 + 1);
        masked.total += count as u64 + 1;
    }
    AuditRecord {
        request_id: format!("{ids}-request"),
        tenant_id: format!("{ids}-tenant"),
        resource_id: ids.to_owned(),
        resource_type: ids.to_owned(),
        operation: ids.to_owned(),
        statement: None,
        outcome,
        code,
        row_count: 7,
        truncated: code.is_some(),
        masked,
        duration_ms: u64::MAX,
    }
}

fn statement(field: Option<StatementField>, text: Option<&str>) -> RecordedStatement {
    RecordedStatement {
        field,
        rendered: Rendered {
            text: text.map(str::to_owned),
            truncated: text.is_none(),
            sha256: "ab".repeat(32),
            bytes: 4096,
        },
    }
}

/// Records of every shape: ids empty (`null`) or needing escapes, each statement form, codes and
/// masked patterns whose names sort in unexpected ways.
fn records() -> Vec<(AuditRecord, Option<RecordedStatement>)> {
    let masked_text = "SELECT * FROM t WHERE email = '***' -- \"é\"\n\u{1}";
    vec![
        (record("pg", Outcome::Ok, None, &["email", "cpf"]), None),
        (
            record("", Outcome::Refused, Some(ErrorCode::NotReadOnly), &[]),
            Some(statement(
                Some(StatementField::Masked(masked_text.into())),
                Some(masked_text),
            )),
        ),
        (
            record(
                "q\"\\\t\u{7f}é☃",
                Outcome::Failed,
                None,
                &["", "é", "Z", "a\"b"],
            ),
            Some(statement(
                Some(StatementField::Fingerprint("pg:0123abcd".into())),
                Some("SELECT 1"),
            )),
        ),
        (
            record(
                "mongo",
                Outcome::Timeout,
                Some(ErrorCode::InvalidRequest),
                &["x"],
            ),
            Some(statement(None, None)),
        ),
        (record("x", Outcome::Cancelled, None, &[]), None),
    ]
}

#[test]
fn a_record_sealed_from_its_fields_is_the_record_sealed_as_a_map() {
    let mut by_map = Chain::new("2026-12-03T00:00:00Z-00ff".into());
    let mut by_fields = Chain::new("2026-12-03T00:00:00Z-00ff".into());
    let genesis = Value::Object(by_map.seal(genesis_body("t0", "tenant").unwrap())).to_string();
    by_fields.seal(genesis_body("t0", "tenant").unwrap());
    let mut lines = vec![genesis];
    for (record, statement) in records() {
        let time = "2026-12-03T12:00:00.123Z";
        let map = by_map.seal(operation_body(&record, statement.as_ref(), time).unwrap());
        let fields = operation_fields(&record, statement.as_ref(), time);
        let (seq, line) = seal_operation(&mut by_fields, &fields).unwrap();
        assert_eq!(line.get(), Value::Object(map.clone()).to_string());
        assert_eq!(Some(seq), map.get("seq").and_then(Value::as_u64));
        lines.push(line.get().to_owned());
    }
    assert_eq!(
        chain::verify(&lines),
        Verdict::Intact {
            records: 6,
            chains: 1
        }
    );
}

#[test]
fn every_field_of_a_line_is_in_its_canonical_form() {
    let mut chain = Chain::new("c".into());
    for (record, statement) in records() {
        let fields = operation_fields(&record, statement.as_ref(), "t");
        let (_, line) = seal_operation(&mut chain, &fields).unwrap();
        let Value::Object(mut parsed) = serde_json::from_str(line.get()).unwrap() else {
            unreachable!("a record is an object");
        };
        let hash = parsed.remove("hash").unwrap();
        assert_eq!(Some(chain::record_hash(&parsed).as_str()), hash.as_str());
    }
}
