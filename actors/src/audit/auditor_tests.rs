//! Auditor tests: records in order on every sink, levels, redaction, spooling and acknowledgement,
//! and refusal when the trail cannot be written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::chain::{verify, Verdict};
use super::*;
use crate::messages::{AuditAcked, AuditLink, AuditReady, ForwardAudit, Record, Security};
use crate::protocol::ErrorCode;
use actix::{Actor, Addr, Context, Handler};
use serde_json::{Map, Value};
use sha2::Digest;
use std::sync::Mutex;

/// Records the auditor forwarded to the control plane, shared with the test.
type Forwarded = Arc<Mutex<Vec<Map<String, Value>>>>;

#[derive(Default)]
struct Collector {
    forwarded: Forwarded,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<ForwardAudit> for Collector {
    type Result = ();
    fn handle(&mut self, message: ForwardAudit, _ctx: &mut Context<Self>) {
        self.forwarded
            .lock()
            .unwrap()
            .push(message.record().unwrap());
    }
}

impl Handler<AuditStatusChanged> for Collector {
    type Result = ();
    fn handle(&mut self, _: AuditStatusChanged, _ctx: &mut Context<Self>) {}
}

pub(super) fn settings(dir: &tempfile::TempDir) -> Audit {
    Audit {
        file: Some(dir.path().join("audit.jsonl").display().to_string()),
        spool_path: Some(dir.path().join("spool.jsonl").display().to_string()),
        ..Audit::default()
    }
}

fn start(settings: Audit) -> (Addr<Auditor>, Forwarded) {
    let collector = Collector::default();
    let forwarded = Arc::clone(&collector.forwarded);
    let collector = collector.start();
    let outbox = AuditOutbox {
        forward: Forwarder::fixed(collector.clone().recipient()),
        status: collector.recipient(),
    };
    let engine = MaskingEngine::from_config(&relay_config::Masking::default()).unwrap();
    let log = Logger::root(slog::Discard, slog::o!());
    let auditor = Auditor::new(settings, "acme".into(), Arc::new(engine), log, Some(outbox));
    (auditor.start(), forwarded)
}

/// An operation's record with this outcome and statement (shared by the auditor's tests).
pub(super) fn operation(outcome: Outcome, sql: &str) -> Record {
    Record {
        record: AuditRecord {
            request_id: "r1".into(),
            tenant_id: "acme".into(),
            resource_id: "pg".into(),
            resource_type: "postgres".into(),
            operation: "query".into(),
            statement: Some(sql.into()),
            outcome,
            code: (outcome != Outcome::Ok).then_some(ErrorCode::NotReadOnly),
            row_count: 1,
            truncated: false,
            masked: MaskedCounts::default(),
            duration_ms: 2,
        },
    }
}

pub(super) fn file_records(dir: &tempfile::TempDir) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        matches!(verify(text.lines()), Verdict::Intact { .. }),
        "{text}"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[actix_rt::test]
async fn records_are_chained_masked_and_filtered_by_level() {
    let dir = tempfile::tempdir().unwrap();
    let (auditor, _) = start(settings(&dir));
    auditor.send(AuditReady).await.unwrap().unwrap();
    let sql = "SELECT * FROM users WHERE email = 'ana@example.com'";
    assert_eq!(
        auditor.send(operation(Outcome::Ok, sql)).await.unwrap(),
        Ok(1)
    );
    assert_eq!(
        auditor
            .send(operation(Outcome::Refused, "DELETE FROM t"))
            .await
            .unwrap(),
        Ok(2)
    );
    let records = file_records(&dir);
    assert_eq!(records[0]["kind"], "genesis");
    assert_eq!(
        records[1]["statement"],
        "SELECT * FROM users WHERE email = '***@***.***'"
    );
    assert_eq!(records[1]["outcome"], "ok");
    assert_eq!(records[1]["relayVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(records[2]["outcome"], "refused");
    assert_eq!(records[2]["code"], "not_read_only");

    let dir = tempfile::tempdir().unwrap();
    let quiet = Audit {
        level: AuditLevel::Warn,
        redact_statements: true,
        ..settings(&dir)
    };
    let (auditor, _) = start(quiet);
    assert_eq!(
        auditor.send(operation(Outcome::Ok, sql)).await.unwrap(),
        Ok(0)
    );
    auditor
        .send(operation(Outcome::Failed, sql))
        .await
        .unwrap()
        .unwrap();
    let records = file_records(&dir);
    assert_eq!(records.len(), 2, "genesis and the failure only");
    assert!(records[1].get("statement").is_none());
    assert!(records[1]["statementFingerprint"]
        .as_str()
        .unwrap()
        .starts_with("pg:"));
}

#[actix_rt::test]
async fn spooled_records_are_sent_on_connect_and_forgotten_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (auditor, forwarded) = start(settings(&dir));
    auditor
        .send(operation(Outcome::Ok, "SELECT 1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        forwarded.lock().unwrap().is_empty(),
        "nothing is sent while disconnected"
    );
    auditor.send(AuditLink { connected: true }).await.unwrap();
    auditor
        .send(operation(Outcome::Ok, "SELECT 2"))
        .await
        .unwrap()
        .unwrap();
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    let seqs: Vec<u64> = forwarded
        .lock()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    let chain_id = forwarded.lock().unwrap()[0]["chainId"]
        .as_str()
        .unwrap()
        .to_owned();
    auditor.send(AuditAcked { chain_id, seq: 1 }).await.unwrap();
    // What a restart would take over: only the record not acknowledged.
    let spool = crate::audit::spool::peek(&dir.path().join("spool.jsonl"), "acme").unwrap();
    let left: Vec<&Value> = spool.iter().map(|r| &r["seq"]).collect();
    assert_eq!(left, [&Value::from(2)]);
}

#[actix_rt::test]
async fn an_unwritable_trail_refuses_operations() {
    let dir = tempfile::tempdir().unwrap();
    let broken = Audit {
        file: Some(dir.path().join("missing/audit.jsonl").display().to_string()),
        ..settings(&dir)
    };
    let (auditor, _) = start(broken);
    let ready = auditor.send(AuditReady).await.unwrap();
    assert!(ready.unwrap_err().0.contains("cannot open audit file"));
    assert!(auditor
        .send(operation(Outcome::Ok, "SELECT 1"))
        .await
        .unwrap()
        .is_err());
}

/// Asks until the trail is ready; false if it is not within 20 s (ten retries).
async fn becomes_ready(auditor: &Addr<Auditor>) -> bool {
    for _ in 0..200 {
        if auditor.send(AuditReady).await.unwrap().is_ok() {
            return true;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[actix_rt::test]
async fn a_directory_created_later_heals_the_trail_and_nothing_waits_forever() {
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("later");
    let settings = Audit {
        file: Some(later.join("audit.jsonl").display().to_string()),
        ..settings(&dir)
    };
    let (auditor, _) = start(settings);
    let refused = auditor.send(AuditReady).await.unwrap().unwrap_err();
    assert!(
        refused.0.contains("No such file or directory"),
        "{}",
        refused.0
    );
    auditor
        .send(Security {
            event: SecurityEvent {
                kind: SecurityKind::ConfigLoaded,
                details: serde_json::json!({"file": "relay-config.yaml"}),
                alarming: false,
            },
        })
        .await
        .unwrap();
    std::fs::create_dir(&later).unwrap();
    assert!(becomes_ready(&auditor).await, "the trail did not heal");
    auditor
        .send(operation(Outcome::Ok, "SELECT 1"))
        .await
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(later.join("audit.jsonl")).unwrap();
    assert!(
        matches!(verify(text.lines()), Verdict::Intact { .. }),
        "{text}"
    );
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap_or(r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        ["genesis", "config_loaded", "audit_recovered", "operation"]
    );
    assert!(records[2]["details"]["error"]
        .as_str()
        .unwrap()
        .contains("cannot open audit file"));
}

#[actix_rt::test]
async fn a_full_spool_refuses_operations_until_acknowledgements_make_room() {
    let dir = tempfile::tempdir().unwrap();
    let small = Audit {
        file: None,
        max_spool_bytes: 1 << 20,
        max_statement_bytes: 64 << 10,
        ..settings(&dir)
    };
    let (auditor, forwarded) = start(small);
    auditor.send(AuditLink { connected: true }).await.unwrap();
    let big = format!("SELECT '{}'", "x".repeat(60 << 10));
    let mut accepted = 0;
    while auditor.send(AuditReady).await.unwrap().is_ok() {
        auditor
            .send(operation(Outcome::Ok, &big))
            .await
            .unwrap()
            .unwrap();
        accepted += 1;
        assert!(accepted < 100, "the spool never filled");
    }
    let refused = auditor.send(AuditReady).await.unwrap().unwrap_err();
    assert!(
        refused.0.contains("the audit spool is full"),
        "{}",
        refused.0
    );
    let on_disk = std::fs::metadata(dir.path().join("spool.jsonl"))
        .unwrap()
        .len();
    assert!(on_disk <= 1 << 20, "{on_disk}");
    let last = forwarded.lock().unwrap().last().cloned().unwrap();
    let chain_id = last["chainId"].as_str().unwrap().to_owned();
    let seq = last["seq"].as_u64().unwrap();
    auditor.send(AuditAcked { chain_id, seq }).await.unwrap();
    auditor.send(AuditReady).await.unwrap().unwrap();
}

#[actix_rt::test]
async fn records_that_arrive_together_are_written_together_in_chain_order() {
    let dir = tempfile::tempdir().unwrap();
    let (auditor, forwarded) = start(settings(&dir));
    auditor.send(AuditLink { connected: true }).await.unwrap();
    let sends = (0..20).map(|_| auditor.send(operation(Outcome::Ok, "SELECT 1")));
    let answers: Vec<u64> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|answer| answer.unwrap().unwrap())
        .collect();
    assert_eq!(answers, (1..=20).collect::<Vec<u64>>());
    let records = file_records(&dir);
    assert_eq!(records.len(), 21);
    let spool = crate::audit::spool::peek(&dir.path().join("spool.jsonl"), "acme").unwrap();
    assert_eq!(spool.len(), 21);
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(forwarded.lock().unwrap().len(), 21);
}

#[actix_rt::test]
async fn a_batch_beyond_the_spool_bound_fails_the_records_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let small = Audit {
        file: None,
        max_spool_bytes: 256 << 10,
        max_statement_bytes: 16 << 10,
        ..settings(&dir)
    };
    let (auditor, _) = start(small);
    auditor.send(AuditReady).await.unwrap().unwrap();
    let statement = format!("SELECT '{}'", "x".repeat(15 << 10));
    let sends = (0..40).map(|_| auditor.send(operation(Outcome::Ok, &statement)));
    let answers = futures_util::future::join_all(sends).await;
    let mut written = Vec::new();
    for answer in answers {
        match answer.unwrap() {
            Ok(seq) => written.push(seq),
            Err(refused) => assert!(
                refused.0.contains("the audit spool is full"),
                "{}",
                refused.0
            ),
        }
    }
    assert!(!written.is_empty() && written.len() < 40, "{written:?}");
    assert_eq!(written, (1..=written.len() as u64).collect::<Vec<u64>>());
    let spool = crate::audit::spool::peek(&dir.path().join("spool.jsonl"), "acme").unwrap();
    assert_eq!(
        spool.len(),
        written.len() + 1,
        "the genesis record and those written"
    );
}

#[actix_rt::test]
async fn a_huge_statement_is_recorded_cut_with_the_hash_of_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (auditor, _) = start(settings(&dir));
    let mut sql =
        String::from("SELECT /*-----BEGIN PRIVATE KEY-----*/ password FROM t WHERE 1 IN (");
    while sql.len() < 5 << 20 {
        sql.push_str("1,");
    }
    sql.push_str("1) /*-----END PRIVATE KEY-----*/");
    auditor
        .send(operation(Outcome::Ok, &sql))
        .await
        .unwrap()
        .unwrap();
    let record = file_records(&dir).pop().unwrap();
    let statement = record["statement"].as_str().unwrap();
    assert!(
        statement.starts_with("SELECT password FROM t WHERE 1 IN (1,1,"),
        "{}",
        &statement[..60]
    );
    assert!(statement.len() <= 16 << 10);
    assert_eq!(record["statementTruncated"], true);
    assert_eq!(record["statementBytes"], sql.len() as u64);
    let sha = super::chain::hex(&sha2::Sha256::digest(sql.as_bytes()));
    assert_eq!(record["statementSha256"], sha.as_str());
}
