//! Spool tests: acknowledgement, both bounds, restarts, the lock, other tenants' records, torn lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

const TENANT: &str = "acme";

fn record(chain: &str, seq: u64) -> Map<String, Value> {
    record_of(TENANT, chain, seq)
}

fn record_of(tenant: &str, chain: &str, seq: u64) -> Map<String, Value> {
    let Value::Object(map) = json!({"tenantId": tenant, "chainId": chain, "seq": seq}) else {
        unreachable!()
    };
    map
}

fn open(path: &Path, max_records: usize) -> Spool {
    let limits = Limits {
        max_records,
        max_bytes: 1 << 20,
    };
    Spool::open(path, limits, TENANT).unwrap()
}

fn push(spool: &mut Spool, record: Map<String, Value>) -> u64 {
    let line = serde_json::to_string(&record).unwrap();
    spool.push(record, &line).unwrap()
}

fn seqs(spool: &Spool) -> Vec<u64> {
    spool
        .pending()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn acknowledged_records_leave_and_the_rest_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let mut spool = open(&path, 100);
    for seq in 0..10 {
        push(&mut spool, record("a", seq));
    }
    push(&mut spool, record("b", 0));
    spool.acknowledge("a", 6).unwrap();
    assert_eq!(seqs(&spool), vec![7, 8, 9, 0]);
    drop(spool);
    let reopened = open(&path, 100);
    assert_eq!(seqs(&reopened), vec![7, 8, 9, 0]);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let mut spool = open(&path, 3);
    let dropped: u64 = (0..5).map(|seq| push(&mut spool, record("a", seq))).sum();
    assert_eq!((dropped, spool.dropped()), (2, 2));
    assert_eq!(seqs(&spool), vec![2, 3, 4]);
    drop(spool);
    assert_eq!(seqs(&open(&path, 3)), vec![2, 3, 4]);
    let mut smaller = open(&path, 2);
    assert_eq!((seqs(&smaller), smaller.dropped()), (vec![3, 4], 1));
    smaller.acknowledge("a", 4).unwrap();
    assert!(smaller.is_empty());
    drop(smaller);
    assert!(open(&path, 2).is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn acknowledgements_are_remembered_and_the_file_compacted_once_mostly_stale() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let lines = || std::fs::read_to_string(&path).unwrap().lines().count();
    let mut spool = open(&path, 10_000);
    for seq in 0..10 {
        push(&mut spool, record("a", seq));
    }
    spool.acknowledge("a", 4).unwrap();
    // Appended, not rewritten: ten records and one acknowledgement.
    assert_eq!(lines(), 11);
    drop(spool);
    let mut spool = open(&path, 10_000);
    assert_eq!(seqs(&spool), vec![5, 6, 7, 8, 9]);
    for seq in 10..(COMPACT_AFTER_STALE_LINES as u64 + 10) {
        push(&mut spool, record("a", seq));
        spool.acknowledge("a", seq - 3).unwrap();
    }
    assert_eq!(spool.len(), 3);
    assert!(lines() < COMPACT_AFTER_STALE_LINES, "{} lines", lines());
    drop(spool);
    assert_eq!(open(&path, 10_000).len(), 3);
}

#[test]
fn a_second_spool_on_the_same_file_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let first = open(&path, 100);
    let limits = Limits {
        max_records: 100,
        max_bytes: 1 << 20,
    };
    let Err(err) = Spool::open(&path, limits, TENANT) else {
        panic!("a second spool opened the same file")
    };
    assert!(
        err.to_string().contains("in use by another relay (pid"),
        "{err}"
    );
    drop(first);
    Spool::open(&path, limits, TENANT).unwrap();
}

#[test]
fn records_of_another_tenant_are_never_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let mut theirs = Spool::open(
        &path,
        Limits {
            max_records: 100,
            max_bytes: 1 << 20,
        },
        "globex",
    )
    .unwrap();
    push(&mut theirs, record_of("globex", "g", 0));
    push(&mut theirs, record_of("globex", "g", 1));
    drop(theirs);
    // A forged line without a tenant is not ours either.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"chainId\":\"x\",\"seq\":0}\n");
    std::fs::write(&path, text).unwrap();
    let mut ours = open(&path, 100);
    assert!(ours.is_empty());
    assert_eq!(ours.foreign(), 3);
    push(&mut ours, record("a", 0));
    assert_eq!(seqs(&ours), vec![0]);
    assert_eq!(peek(&path, TENANT).unwrap().len(), 1);
    assert!(peek(&path, "globex").unwrap().is_empty());
}

#[test]
fn the_byte_bound_refuses_records_until_acknowledgements_make_room() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let limits = Limits {
        max_records: 1_000_000,
        max_bytes: 1 << 20,
    };
    let mut spool = Spool::open(&path, limits, TENANT).unwrap();
    let big = "x".repeat(100_000);
    let line_of = |seq: u64| {
        let mut body = record("a", seq);
        body.insert("statement".into(), json!(big));
        let line = serde_json::to_string(&body).unwrap();
        (body, line)
    };
    let mut seq = 0;
    let err = loop {
        let (body, line) = line_of(seq);
        match spool.push(body, &line) {
            Ok(_) => seq += 1,
            Err(err) => break err,
        }
    };
    assert_eq!(seq, 10, "ten records of 100 kB fit in 1 MiB");
    assert!(matches!(err, SpoolError::Full { .. }), "{err}");
    assert!(
        err.to_string().contains("audit.maxSpoolBytes is 1048576"),
        "{err}"
    );
    assert!(spool.check_room(100_100).is_err());
    let on_disk = std::fs::metadata(&path).unwrap().len();
    assert!(on_disk <= 1 << 20, "{on_disk} bytes");
    spool.acknowledge("a", 4).unwrap();
    spool.check_room(100_100).unwrap();
    let (body, line) = line_of(seq);
    spool.push(body, &line).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() <= 1 << 20);
    assert!(spool.free_space().unwrap() > 0);
}

#[test]
fn a_torn_last_line_is_cut_when_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let mut spool = open(&path, 100);
    push(&mut spool, record("a", 0));
    drop(spool);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"tenantId\":\"acme\",\"chainId\":\"a\",\"se");
    std::fs::write(&path, text).unwrap();
    let mut spool = open(&path, 100);
    push(&mut spool, record("a", 1));
    drop(spool);
    assert_eq!(seqs(&open(&path, 100)), vec![0, 1]);
}

#[test]
fn a_batch_takes_what_fits_in_one_write_and_refuses_the_rest_as_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.jsonl");
    let limits = Limits {
        max_records: 3,
        max_bytes: 1 << 20,
    };
    let mut spool = Spool::open(&path, limits, TENANT).unwrap();
    let entry = |seq: u64, statement: &str| {
        let mut body = record("a", seq);
        body.insert("statement".into(), json!(statement));
        let line = serde_json::to_string(&body).unwrap();
        Pending::new(&body, line)
    };
    let dropped = spool
        .push_all((0..4).map(|seq| entry(seq, "SELECT 1")).collect())
        .unwrap();
    assert_eq!(dropped, 1, "the oldest goes beyond spoolMaxRecords");
    assert_eq!(seqs(&spool), [1, 2, 3]);

    let big = "x".repeat(400_000);
    let batch = (4..8).map(|seq| entry(seq, &big)).collect();
    let refused = spool.push_all(batch).unwrap_err();
    assert_eq!(
        refused.taken, 2,
        "two records of 400 kB fit beside the others"
    );
    assert!(
        matches!(refused.error, SpoolError::Full { .. }),
        "{}",
        refused.error
    );
    assert_eq!(seqs(&spool), [3, 4, 5]);
    drop(spool);
    let spool = Spool::open(&path, limits, TENANT).unwrap();
    assert_eq!(seqs(&spool), [3, 4, 5], "what was taken survives a restart");
}
