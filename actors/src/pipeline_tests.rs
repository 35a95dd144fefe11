//! Pipeline tests: masking runs on every answer, and without a working masker nothing is sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::masking::MaskingEngine;
use crate::messages::OperationOutput;
use crate::protocol::Column;
use actix::{Actor, ActorContext, Context, Handler, Message};
use relay_config::Masking;
use serde_json::json;
use std::sync::Arc;

#[derive(Message)]
#[rtype(result = "()")]
struct StopForTest;

impl Handler<StopForTest> for Masker {
    type Result = ();

    fn handle(&mut self, _: StopForTest, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn request() -> Request {
    Request {
        id: "r1".into(),
        resource_id: "pg".into(),
        operation: crate::protocol::Operation::Query.into(),
        params: json!({"sql": "select 1"}),
        timeout_ms: None,
    }
}

fn output_with_pii() -> Produced {
    let output = OperationOutput {
        written: None,
        columns: vec![Column {
            name: "note".into(),
            type_name: "text".into(),
        }],
        rows: (0..600)
            .map(|i| vec![json!(format!("row {i}: write to ana{i}@example.com"))])
            .collect(),
        truncated: false,
        details: Some(json!({"hint": "owner bo@example.org"})),
        lineage: Default::default(),
    };
    Produced { output, slot: None }
}

fn masker() -> Addr<Masker> {
    let engine = MaskingEngine::from_config(&Masking::default()).unwrap();
    Masker::with_workers(Arc::new(engine), 2).start()
}

fn assert_masking_failed(message: &Outbound) {
    let text = serde_json::to_string(message).unwrap();
    assert!(
        !text.contains("example.com") && !text.contains("example.org"),
        "{text}"
    );
    match message {
        Outbound::Error(error) => assert_eq!(error.code, ErrorCode::MaskingFailed),
        other => panic!("expected masking_failed, got {other:?}"),
    }
}

#[actix_rt::test]
async fn results_are_masked_in_order_across_workers() {
    let masker = masker();
    let (message, counts, summary) =
        mask_output(Some(&masker), &request(), output_with_pii(), Instant::now()).await;
    let Outbound::Result(result) = message else {
        panic!("expected a result")
    };
    assert_eq!(counts.by_pattern.get("email"), Some(&601));
    assert_eq!(result.masked, counts);
    assert_eq!(summary, Some((600, false)));
    let rows = result.rows.to_values().unwrap();
    assert_eq!(rows[599][0], json!("row 599: write to ***@***.***"));
    assert_eq!(result.details, Some(json!({"hint": "owner ***@***.***"})));
}

#[actix_rt::test]
async fn a_stopped_masker_sends_nothing() {
    let masker = masker();
    masker.send(StopForTest).await.unwrap();
    actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    let (message, counts, summary) =
        mask_output(Some(&masker), &request(), output_with_pii(), Instant::now()).await;
    assert_masking_failed(&message);
    assert_eq!((counts.total, summary), (0, None));
    let error = OperationError::new(
        ErrorCode::QueryFailed,
        "invalid input syntax: \"ana@example.com\"",
    );
    assert_masking_failed(&mask_error(Some(&masker), &request(), error).await);
}

#[actix_rt::test]
async fn a_missing_masker_sends_nothing() {
    let (message, _, _) = mask_output(None, &request(), output_with_pii(), Instant::now()).await;
    assert_masking_failed(&message);
    let error = OperationError::new(ErrorCode::QueryFailed, "bad value ana@example.com");
    assert_masking_failed(&mask_error(None, &request(), error).await);
}

#[actix_rt::test]
async fn error_messages_are_masked() {
    let masker = masker();
    let error = OperationError::new(
        ErrorCode::QueryFailed,
        "invalid input syntax for type integer: \"ana@example.com\"",
    );
    let Outbound::Error(sent) = mask_error(Some(&masker), &request(), error).await else {
        panic!()
    };
    assert_eq!(
        sent.message,
        "invalid input syntax for type integer: \"***@***.***\""
    );
    assert_eq!(sent.code, ErrorCode::QueryFailed);
}

#[derive(Message)]
#[rtype(result = "()")]
struct StopAuditorForTest;

impl Handler<StopAuditorForTest> for crate::audit::Auditor {
    type Result = ();

    fn handle(&mut self, _: StopAuditorForTest, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[actix_rt::test]
async fn without_the_audit_trail_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let settings = relay_config::Audit {
        spool_path: Some(dir.path().join("spool").display().to_string()),
        ..relay_config::Audit::default()
    };
    let engine = Arc::new(MaskingEngine::from_config(&Masking::default()).unwrap());
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let auditor = crate::audit::Auditor::new(settings, "acme".into(), engine, log, None).start();
    auditor.send(StopAuditorForTest).await.unwrap();
    actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    // A gate left open (as by an auditor that stopped before it could close it) does not let a
    // request past an auditor that is gone.
    let gate = crate::audit::gate::AuditGate::default();
    gate.set_open(true);
    for auditor in [Some(auditor), None] {
        let route = Route {
            tenant_id: "acme".into(),
            resource: None,
            masker: Some(masker()),
            masking: None,
            auditor,
            audit_gate: gate.clone(),
            metrics: Default::default(),
            running: None,
            cancel: Default::default(),
        };
        // Without a resource the answer would be unknown_resource: the audit check comes first.
        let Outbound::Error(error) = run(route, request()).await else {
            panic!("expected an error")
        };
        assert_eq!(error.code, ErrorCode::AuditUnavailable, "{}", error.message);
    }
}
