//! Rows masked as they are written come out as the same text, with the same counts, as the same
//! rows masked as values and serialized: by name, by traced source, computed, scoped, bytes,
//! numbers, nested values, cells past the last column, and random text with PII in it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::MaskingEngine;
use crate::domain::{Cell, OutputLineage, RowMasking};
use crate::masking::traced_tests::{engine_with, source};
use crate::protocol::{Column, MaskedCounts};
use base64::Engine as _;
use proptest::prelude::*;
use relay_config::{Builtins, Masking};
use serde_json::{json, Value};

fn engine() -> &'static MaskingEngine {
    static ENGINE: std::sync::OnceLock<MaskingEngine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| engine_with(Builtins::default()))
}

fn column(name: &str, type_name: &str) -> Column {
    Column {
        name: name.into(),
        type_name: type_name.into(),
    }
}

/// Masked as values, then serialized: the reference.
fn as_values(
    engine: &MaskingEngine,
    columns: &[Column],
    lineage: &OutputLineage,
    mut rows: Vec<Vec<Value>>,
) -> (String, MaskedCounts) {
    let mut counts = MaskedCounts::default();
    engine.mask_traced_rows(columns, lineage, &mut rows, &mut counts);
    (serde_json::to_string(&rows).unwrap(), counts)
}

/// Written cell by cell, strings of text columns borrowed as a resource hands them over.
fn as_written(
    engine: &MaskingEngine,
    columns: &[Column],
    lineage: &OutputLineage,
    rows: &[Vec<Value>],
) -> (String, MaskedCounts) {
    let mut writer = engine.row_writer(columns, lineage).unwrap();
    for row in rows {
        writer.begin_row();
        for (index, value) in row.iter().enumerate() {
            let text_column = columns.get(index).is_some_and(|c| c.type_name == "text");
            match value {
                Value::String(text) if text_column => writer.cell(Cell::Text(text)),
                value => writer.cell(Cell::Value(value.clone())),
            }
        }
        writer.end_row();
    }
    assert_eq!(writer.rows(), rows.len());
    let written = writer.finish().unwrap();
    assert_eq!(written.rows(), rows.len());
    let counts = written.counts().clone();
    (written.into_json(), counts)
}

fn assert_same(columns: &[Column], lineage: &OutputLineage, rows: Vec<Vec<Value>>) -> String {
    let written = as_written(engine(), columns, lineage, &rows);
    let values = as_values(engine(), columns, lineage, rows);
    assert_eq!(written, values);
    written.0
}

#[test]
fn every_kind_of_cell_is_written_as_it_is_masked_as_a_value() {
    let bytes = base64::engine::general_purpose::STANDARD.encode("\u{1}ana@example.com\u{0}");
    let columns = [
        column("p", "text"),
        column("token", "text"),
        column("piece", "text"),
        column("password", "text"),
        column("blob", "bytea"),
        column("n", "int8"),
        column("doc", "jsonb"),
        column("plain", "text"),
    ];
    let lineage = OutputLineage {
        columns: vec![
            Some(source(1, "public.t.token")),
            None,
            Some(source(1, "public.t.token")),
        ],
        computed: vec![false, false, true],
        scoped_rules: vec![2],
        ..OutputLineage::default()
    };
    let rows = vec![
        vec![
            json!("hunter2"),
            json!("abcdef"),
            json!("abcdef"),
            Value::Null,
            json!(bytes),
            json!(52998224725u64),
            json!({"note": "private", "mail": ["x", "bo@corp.com.br"], "ana@x.org": 1}),
            json!("quote \" back \\ ctl \u{1} é, call bo@corp.com.br"),
            json!("a cell past the last column: 529.982.247-25"),
        ],
        vec![
            json!(""),
            Value::Null,
            json!("x"),
            json!("secret"),
            json!("not base64!"),
            json!(1.5),
            json!([1, {"k": "529.982.247-25"}]),
            json!("nothing here"),
        ],
    ];
    let text = assert_same(&columns, &lineage, rows);
    for leaked in [
        "hunter2",
        "ana@example.com",
        "52998224725",
        "private",
        "bo@corp",
    ] {
        assert!(!text.contains(leaked), "{leaked} in {text}");
    }
}

#[test]
fn no_rows_and_empty_rows_are_written_as_values_are() {
    let columns = [column("a", "text")];
    assert_eq!(
        assert_same(&columns, &OutputLineage::default(), vec![]),
        "[]"
    );
    let text = assert_same(&[], &OutputLineage::default(), vec![vec![], vec![]]);
    assert_eq!(text, "[[],[]]");
}

#[test]
fn masking_disabled_writes_every_cell_unchanged() {
    let disabled = Masking {
        enabled: false,
        ..Masking::default()
    };
    let engine = MaskingEngine::from_config(&disabled).unwrap();
    let columns = [column("a", "text"), column("b", "int4")];
    let rows = vec![vec![json!("ana@example.com"), json!(52998224725u64)]];
    let lineage = OutputLineage::default();
    let written = as_written(&engine, &columns, &lineage, &rows);
    assert_eq!(
        written,
        as_values(&engine, &columns, &lineage, rows.clone())
    );
    assert_eq!(written.0, serde_json::to_string(&rows).unwrap());
}

#[test]
fn document_fields_traced_by_path_are_left_to_the_values_walk() {
    let lineage = OutputLineage {
        fields: vec![("pw".into(), source(0, "pw"))],
        ..OutputLineage::default()
    };
    assert!(engine()
        .row_writer(&[column("d", "text")], &lineage)
        .is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_is_written_as_it_is_masked_as_a_value(
        cells in proptest::collection::vec(
            "([a-z \"\\\\é.\\-]{0,12}|[a-z]{1,6}@[a-z]{2,6}\\.com|[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}-[0-9]{2}|[0-9]{11,16})",
            1..8,
        ),
        numbers in proptest::collection::vec(any::<i64>(), 1..4),
    ) {
        let mut columns: Vec<Column> = (0..cells.len()).map(|i| column(&format!("c{i}"), "text")).collect();
        let mut row: Vec<Value> = cells.iter().map(|text| json!(text)).collect();
        for (i, number) in numbers.iter().enumerate() {
            columns.push(column(&format!("n{i}"), "int8"));
            row.push(json!(number));
        }
        let rows = vec![row.clone(), row];
        let lineage = OutputLineage::default();
        let written = as_written(engine(), &columns, &lineage, &rows);
        prop_assert_eq!(written, as_values(engine(), &columns, &lineage, rows));
    }
}
