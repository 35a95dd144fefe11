//! The published readiness agrees with what the auditor answers when asked: open while records
//! can be written, closed by a full spool, a sink that cannot be opened, and the relay's stop,
//! after which nothing more is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::gate::AuditGate;
use super::tests::{file_records, settings};
use super::*;
use crate::messages::{AuditAcked, AuditReady, AuditStopping, Record, Security};
use actix::{Actor, ActorContext, Addr, Context, Handler, Message};
use relay_config::Audit;

#[derive(Message)]
#[rtype(result = "()")]
struct StopForTest;

impl Handler<StopForTest> for Auditor {
    type Result = ();

    fn handle(&mut self, _: StopForTest, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn start(settings: Audit) -> (Addr<Auditor>, AuditGate) {
    let engine = MaskingEngine::from_config(&relay_config::Masking::default()).unwrap();
    let log = Logger::root(slog::Discard, slog::o!());
    let gate = AuditGate::default();
    let auditor =
        Auditor::new(settings, "acme".into(), Arc::new(engine), log, None).with_gate(gate.clone());
    (auditor.start(), gate)
}

fn operation(sql: &str) -> Record {
    super::tests::operation(Outcome::Ok, sql)
}

/// Asks the auditor, and checks the gate says the same (read after the answer: an auditor
/// publishes its state once it has started).
async fn ready_agrees_with_gate(auditor: &Addr<Auditor>, gate: &AuditGate) -> bool {
    let asked = auditor.send(AuditReady).await.unwrap().is_ok();
    let published = gate.admits_at_once();
    assert_eq!(
        published, asked,
        "the gate said {published}, the auditor {asked}"
    );
    asked
}

#[actix_rt::test]
async fn the_gate_closes_with_a_full_spool_and_opens_with_the_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let spool_path = dir.path().join("spool.jsonl");
    let small = Audit {
        spool_path: Some(spool_path.display().to_string()),
        max_spool_bytes: 1 << 20,
        max_statement_bytes: 64 << 10,
        ..Audit::default()
    };
    let (auditor, gate) = start(small);
    let big = format!("SELECT '{}'", "x".repeat(60 << 10));
    let mut accepted = 0;
    while ready_agrees_with_gate(&auditor, &gate).await {
        auditor.send(operation(&big)).await.unwrap().unwrap();
        accepted += 1;
        assert!(accepted < 100, "the spool never filled");
    }
    assert!(!gate.admits_at_once(), "a full spool closes the gate");
    let spooled = spool::peek(&spool_path, "acme").unwrap();
    let last = spooled.last().unwrap();
    let chain_id = last["chainId"].as_str().unwrap().to_owned();
    let seq = last["seq"].as_u64().unwrap();
    auditor.send(AuditAcked { chain_id, seq }).await.unwrap();
    assert!(gate.admits_at_once(), "the acknowledgement made room");
    assert!(ready_agrees_with_gate(&auditor, &gate).await);
}

#[actix_rt::test]
async fn the_gate_stays_closed_while_a_sink_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-yet").join("audit.jsonl");
    let settings = Audit {
        file: Some(missing.display().to_string()),
        ..Audit::default()
    };
    let (auditor, gate) = start(settings);
    assert!(!ready_agrees_with_gate(&auditor, &gate).await);
    assert!(!gate.admits_at_once());
}

#[actix_rt::test]
async fn the_gate_closes_at_relay_stopped_and_when_the_auditor_stops() {
    let in_dir = |dir: &tempfile::TempDir| Audit {
        file: Some(dir.path().join("audit.jsonl").display().to_string()),
        spool_path: Some(dir.path().join("spool.jsonl").display().to_string()),
        ..Audit::default()
    };
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (auditor, gate) = start(in_dir(&first));
    assert!(ready_agrees_with_gate(&auditor, &gate).await);
    let details = serde_json::json!({"graceSeconds": 10});
    auditor.send(AuditStopping { details }).await.unwrap();
    assert!(!ready_agrees_with_gate(&auditor, &gate).await);

    let (auditor, gate) = start(in_dir(&second));
    assert!(ready_agrees_with_gate(&auditor, &gate).await);
    auditor.send(StopForTest).await.unwrap();
    for _ in 0..100 {
        if !gate.admits_at_once() {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("an auditor that stopped left its gate open");
}

#[actix_rt::test]
async fn a_new_auditor_does_not_inherit_an_open_gate() {
    let dir = tempfile::tempdir().unwrap();
    let gate = AuditGate::default();
    gate.set_open(true);
    let engine = MaskingEngine::from_config(&relay_config::Masking::default()).unwrap();
    let log = Logger::root(slog::Discard, slog::o!());
    let settings = Audit {
        spool_path: Some(dir.path().join("spool.jsonl").display().to_string()),
        ..Audit::default()
    };
    let auditor =
        Auditor::new(settings, "acme".into(), Arc::new(engine), log, None).with_gate(gate.clone());
    assert!(
        !gate.admits_at_once(),
        "closed until this auditor has checked its sinks"
    );
    let auditor = auditor.start();
    assert!(ready_agrees_with_gate(&auditor, &gate).await);
}

#[actix_rt::test]
async fn nothing_is_written_after_relay_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (auditor, _) = start(settings(&dir));
    assert_eq!(auditor.send(operation("SELECT 1")).await.unwrap(), Ok(1));
    let details = serde_json::json!({"graceSeconds": 10});
    auditor.send(AuditStopping { details }).await.unwrap();
    // A pipeline that outlived the drain, and a security event after it: both refused.
    let late = auditor.send(operation("SELECT 2")).await.unwrap();
    assert!(late.is_err(), "{late:?}");
    assert!(auditor.send(AuditReady).await.unwrap().is_err());
    auditor
        .send(Security {
            event: SecurityEvent {
                kind: SecurityKind::Disconnected,
                details: serde_json::json!({}),
                alarming: false,
            },
        })
        .await
        .unwrap();
    let records = file_records(&dir);
    assert_eq!(records.len(), 3, "{records:?}");
    let last = records.last().unwrap();
    assert_eq!(last["event"], "relay_stopped", "{last}");
}
