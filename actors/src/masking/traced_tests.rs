//! Masking by traced sources: a result column or a document field derived from a protected column
//! gets that column's rule under any name, the strictest rule winning over the name's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::MaskingEngine;
use crate::messages::{OperationOutput, OutputLineage};
use crate::policy::lineage::Source;
use crate::protocol::{Column, MaskedCounts};
use relay_config::{Builtins, ColumnRule, MaskStrategy, Masking};
use serde_json::json;

/// A column rule by name, replacing with `***` (keeping 2 characters where partial).
pub(super) fn rule(name: &str, strategy: MaskStrategy, table: Option<&str>) -> ColumnRule {
    ColumnRule {
        name: Some(name.into()),
        regex: None,
        table: table.map(str::to_owned),
        strategy,
        replacement: "***".into(),
        keep: 2,
    }
}

/// An engine with three column rules (`password`, `token` partial, `note` scoped to
/// `shop.users`) and the given built-ins.
pub(super) fn engine_with(builtins: Builtins) -> MaskingEngine {
    MaskingEngine::from_config(&Masking {
        enabled: true,
        builtins,
        columns: vec![
            rule("password", MaskStrategy::Redact, None),
            rule("token", MaskStrategy::Partial, None),
            rule("note", MaskStrategy::Redact, Some("shop.users")),
        ],
        ..Masking::default()
    })
    .unwrap()
}

fn engine() -> MaskingEngine {
    engine_with(Builtins::none())
}

pub(super) fn source(rule: usize, column: &str) -> Source {
    Source {
        rule,
        column: column.into(),
    }
}

fn column(name: &str) -> Column {
    Column {
        name: name.into(),
        type_name: "text".into(),
    }
}

#[test]
fn a_traced_column_gets_the_strictest_of_its_source_and_name_rules() {
    let mut output = OperationOutput {
        columns: vec![column("p"), column("token"), column("plain")],
        rows: vec![vec![json!("hunter2"), json!("abcdef"), json!("ok")]],
        lineage: OutputLineage {
            columns: vec![
                Some(source(1, "public.t.token")),
                Some(source(0, "public.t.password")),
            ],
            ..OutputLineage::default()
        },
        ..OperationOutput::default()
    };
    let mut counts = MaskedCounts::default();
    engine().mask_output(&mut output, &mut counts);
    assert_eq!(
        output.rows[0],
        [json!("*****r2"), json!("***"), json!("ok")]
    );
    assert_eq!(counts.by_pattern["column:public.t.token"], 1);
    assert_eq!(counts.by_pattern["column:public.t.password"], 1);
}

#[test]
fn derived_and_scoped_fields_of_documents_are_masked() {
    let mut output = OperationOutput {
        columns: vec![column("document")],
        rows: vec![vec![json!({
            "pw": "hunter2",
            "all": [{"k": "sec1"}, {"k": "sec2"}, {"other": "x"}],
            "note": "private",
            "nested": {"note": "also private"}
        })]],
        lineage: OutputLineage {
            fields: vec![
                ("pw".into(), source(0, "pw")),
                ("all.k".into(), source(1, "all.k")),
            ],
            scoped_rules: vec![2],
            ..OutputLineage::default()
        },
        ..OperationOutput::default()
    };
    let mut counts = MaskedCounts::default();
    engine().mask_output(&mut output, &mut counts);
    let document = &output.rows[0][0];
    assert_eq!(document["pw"], "***");
    assert_eq!(
        document["all"],
        json!([{"k": "***"}, {"k": "***"}, {"other": "x"}])
    );
    assert_eq!(document["note"], "***");
    assert_eq!(document["nested"]["note"], "***");
    assert_eq!(counts.by_pattern["column:all.k"], 2);
}

#[test]
fn a_computed_column_is_replaced_whole_whatever_its_rules_strategy() {
    let mut output = OperationOutput {
        columns: vec![column("piece"), column("token")],
        rows: vec![vec![json!("abcdef"), json!("abcdef")]],
        lineage: OutputLineage {
            columns: vec![Some(source(1, "public.t.token")), None],
            computed: vec![true, false],
            ..OutputLineage::default()
        },
        ..OperationOutput::default()
    };
    engine().mask_output(&mut output, &mut MaskedCounts::default());
    assert_eq!(output.rows[0], [json!("***"), json!("****ef")]);
}

#[test]
fn a_scoped_rule_does_not_apply_by_name_alone() {
    let mut output = OperationOutput {
        columns: vec![column("note")],
        rows: vec![vec![json!({"note": "public"})], vec![json!("public too")]],
        ..OperationOutput::default()
    };
    engine().mask_output(&mut output, &mut MaskedCounts::default());
    assert_eq!(output.rows[0][0], json!({"note": "public"}));
    assert_eq!(output.rows[1][0], "public too");
}
