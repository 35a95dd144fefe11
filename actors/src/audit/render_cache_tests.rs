//! A statement sent again is recorded as it was the first time, and a reconfiguration that
//! changes the masking patterns changes how even a statement rendered before is recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::messages::Record;
use crate::reload_messages::Reconfigure;
use actix::Actor;
use relay_config::{Audit, MaskPattern, Masking};

fn engine(patterns: Vec<MaskPattern>) -> Arc<MaskingEngine> {
    let masking = Masking {
        patterns,
        ..Masking::default()
    };
    Arc::new(MaskingEngine::from_config(&masking).unwrap())
}

fn operation(sql: &str) -> Record {
    super::tests::operation(Outcome::Ok, sql)
}

fn statements(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["kind"] == "operation")
        .map(|record| record["statement"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_rt::test]
async fn a_repeated_statement_follows_the_masking_patterns_in_effect() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let settings = Audit {
        file: Some(file.display().to_string()),
        spool_path: Some(dir.path().join("spool.jsonl").display().to_string()),
        ..Audit::default()
    };
    let log = Logger::root(slog::Discard, slog::o!());
    let auditor = Auditor::new(settings.clone(), "acme".into(), engine(vec![]), log, None);
    let auditor = auditor.start();
    let sql = "SELECT * FROM orders WHERE code = 'ORD-12345'";
    for _ in 0..2 {
        auditor.send(operation(sql)).await.unwrap().unwrap();
    }
    let order_codes = MaskPattern {
        name: "order".into(),
        regex: "ORD-[0-9]+".into(),
        replacement: "[ORDER]".into(),
    };
    let masking = engine(vec![order_codes]);
    auditor
        .send(Reconfigure { settings, masking })
        .await
        .unwrap();
    auditor.send(operation(sql)).await.unwrap().unwrap();
    let recorded = statements(&file);
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert_eq!(
        recorded[0], recorded[1],
        "the same text is recorded the same"
    );
    assert!(recorded[0].contains("ORD-12345"), "{recorded:?}");
    assert!(
        !recorded[2].contains("ORD-12345") && recorded[2].contains("[ORDER]"),
        "rendered again with the new patterns: {recorded:?}"
    );
}
