//! Hostile statements through the whole relay: each is refused with the right code, and the database
//! shows that none of them had any effect.

use crate::pg_fixture::{admin, reader, shared_db};
use crate::support::{relay_config, DevPlane, Relay, TOKEN};
use serde_json::json;

/// `(statement, expected error code)`. `{victim}` is replaced with a live backend's pid.
const HOSTILE: &[(&str, &str)] = &[
    (
        "INSERT INTO sentinel (note) VALUES ('pwned')",
        "not_read_only",
    ),
    ("UPDATE sentinel SET note = 'pwned'", "not_read_only"),
    ("DELETE FROM sentinel", "not_read_only"),
    (
        "MERGE INTO sentinel s USING (SELECT 1 AS id) v ON s.id = v.id WHEN MATCHED THEN DELETE",
        "not_read_only",
    ),
    ("TRUNCATE sentinel", "not_read_only"),
    ("DROP TABLE sentinel", "not_read_only"),
    ("ALTER TABLE sentinel ADD COLUMN pwned int", "not_read_only"),
    ("CREATE TABLE pwned (id int)", "not_read_only"),
    (
        "CREATE TABLE pwned AS SELECT * FROM sentinel",
        "not_read_only",
    ),
    ("SELECT * INTO pwned FROM sentinel", "not_read_only"),
    ("CREATE INDEX pwned_idx ON sentinel (note)", "not_read_only"),
    (
        "CREATE FUNCTION pwned() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "not_read_only",
    ),
    ("GRANT ALL ON sentinel TO PUBLIC", "not_read_only"),
    ("SELECT 1; DELETE FROM sentinel", "not_read_only"),
    ("SELECT 1;COMMIT;DELETE FROM sentinel", "not_read_only"),
    ("COMMIT; DELETE FROM sentinel", "not_read_only"),
    ("SELECT 1 /* ; */ ; DELETE FROM sentinel", "not_read_only"),
    ("-- harmless\nDELETE FROM sentinel", "not_read_only"),
    (
        "/* nested /* comment */ */ DELETE FROM sentinel",
        "not_read_only",
    ),
    (
        "WITH d AS (DELETE FROM sentinel RETURNING *) SELECT * FROM d",
        "not_read_only",
    ),
    (
        "WITH u AS (UPDATE sentinel SET note = 'x' RETURNING 1) SELECT count(*) FROM u",
        "not_read_only",
    ),
    (
        "WITH i AS (INSERT INTO sentinel (note) VALUES ('x') RETURNING id) SELECT * FROM i",
        "not_read_only",
    ),
    (
        "SELECT * FROM (WITH d AS (DELETE FROM sentinel RETURNING 1) SELECT * FROM d) s",
        "not_read_only",
    ),
    ("EXPLAIN ANALYZE DELETE FROM sentinel", "not_read_only"),
    ("EXPLAIN (ANALYZE) SELECT * FROM sentinel", "not_read_only"),
    ("EXPLAIN DELETE FROM sentinel", "not_read_only"),
    ("SELECT pg_terminate_backend({victim})", "not_read_only"),
    ("SELECT PG_TERMINATE_BACKEND({victim})", "not_read_only"),
    ("SELECT \"pg_terminate_backend\"({victim})", "not_read_only"),
    (
        "SELECT pg_catalog.pg_terminate_backend({victim})",
        "not_read_only",
    ),
    ("SELECT pg_cancel_backend({victim})", "not_read_only"),
    (
        "SELECT * FROM sentinel WHERE pg_terminate_backend({victim})",
        "not_read_only",
    ),
    (
        "SELECT count(*) FILTER (WHERE pg_cancel_backend({victim})) FROM sentinel",
        "not_read_only",
    ),
    (
        "SELECT * FROM sentinel ORDER BY pg_terminate_backend({victim})",
        "not_read_only",
    ),
    (
        "SELECT * FROM sentinel s, LATERAL (SELECT pg_terminate_backend({victim})) t",
        "not_read_only",
    ),
    (
        "WITH k AS (SELECT pg_terminate_backend({victim})) SELECT * FROM k",
        "not_read_only",
    ),
    (
        "SELECT set_config('statement_timeout', '0', false)",
        "not_read_only",
    ),
    ("SELECT pg_advisory_lock(42)", "not_read_only"),
    ("SELECT pg_advisory_xact_lock(42)", "not_read_only"),
    ("SELECT pg_try_advisory_lock(42)", "not_read_only"),
    ("SELECT lo_create(0)", "not_read_only"),
    ("SELECT lo_import('/etc/passwd')", "not_read_only"),
    (
        "SELECT lo_export(1, '/tmp/relay_pwned_lo')",
        "not_read_only",
    ),
    ("SELECT pg_read_file('/etc/passwd')", "not_read_only"),
    ("SELECT pg_read_binary_file('/etc/passwd')", "not_read_only"),
    ("SELECT * FROM pg_ls_dir('.')", "not_read_only"),
    ("SELECT pg_stat_file('postgresql.conf')", "not_read_only"),
    ("SELECT pg_notify('channel', 'payload')", "not_read_only"),
    ("SELECT txid_current()", "not_read_only"),
    ("SELECT pg_current_xact_id()", "not_read_only"),
    ("SELECT pg_reload_conf()", "not_read_only"),
    ("SELECT pg_rotate_logfile()", "not_read_only"),
    (
        "SELECT pg_create_physical_replication_slot('pwned')",
        "not_read_only",
    ),
    (
        "SELECT pg_create_logical_replication_slot('pwned', 'test_decoding')",
        "not_read_only",
    ),
    ("SELECT pg_drop_replication_slot('pwned')", "not_read_only"),
    ("SELECT pg_switch_wal()", "not_read_only"),
    (
        "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
        "not_read_only",
    ),
    (
        "SELECT dblink_exec('dbname=postgres', 'DROP TABLE sentinel')",
        "not_read_only",
    ),
    ("SELECT nextval('sentinel_id_seq')", "not_read_only"),
    ("SELECT setval('sentinel_id_seq', 1000)", "not_read_only"),
    (
        "SELECT query_to_xml('DELETE FROM sentinel RETURNING 1', true, true, '')",
        "not_read_only",
    ),
    ("SELECT public.pwned()", "not_read_only"),
    (
        "COPY sentinel TO PROGRAM 'touch /tmp/relay_pwned_program'",
        "not_read_only",
    ),
    (
        "COPY (SELECT 1) TO '/tmp/relay_pwned_copy'",
        "not_read_only",
    ),
    ("COPY sentinel FROM '/etc/hostname'", "not_read_only"),
    ("DO $$ BEGIN DELETE FROM sentinel; END $$", "not_read_only"),
    ("CALL pwned()", "not_read_only"),
    ("SET statement_timeout = 0", "not_read_only"),
    ("SET LOCAL statement_timeout = 0", "not_read_only"),
    ("RESET ALL", "not_read_only"),
    (
        "LOCK TABLE sentinel IN ACCESS EXCLUSIVE MODE",
        "not_read_only",
    ),
    ("BEGIN", "not_read_only"),
    ("COMMIT", "not_read_only"),
    ("ROLLBACK", "not_read_only"),
    ("SAVEPOINT s1", "not_read_only"),
    ("PREPARE p AS DELETE FROM sentinel", "not_read_only"),
    ("EXECUTE p", "not_read_only"),
    (
        "DECLARE c CURSOR FOR SELECT * FROM sentinel",
        "not_read_only",
    ),
    ("LISTEN channel", "not_read_only"),
    ("NOTIFY channel", "not_read_only"),
    ("VACUUM sentinel", "not_read_only"),
    ("ANALYZE sentinel", "not_read_only"),
    ("REFRESH MATERIALIZED VIEW big_view", "not_read_only"),
    ("ALTER SYSTEM SET work_mem = '1GB'", "not_read_only"),
    ("LOAD 'plpgsql'", "not_read_only"),
    ("SELECT * FROM sentinel FOR UPDATE", "not_read_only"),
    ("SELECT * FROM sentinel FOR SHARE", "not_read_only"),
    (
        "SELECT * FROM (SELECT * FROM sentinel FOR UPDATE) s",
        "not_read_only",
    ),
    ("SELEKT * FROM sentinel", "invalid_request"),
    ("", "invalid_request"),
];

/// What the database looks like; any hostile statement that had an effect changes it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    sentinel: Vec<(i32, String)>,
    sequence: (i64, bool),
    advisory_locks: i64,
    tables: i64,
    slots: i64,
}

fn snapshot() -> Snapshot {
    let mut db = admin(shared_db());
    let sentinel = db
        .query("SELECT id, note FROM sentinel ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let sequence = db
        .query_one("SELECT last_value, is_called FROM sentinel_id_seq", &[])
        .unwrap();
    let count =
        |db: &mut postgres::Client, sql: &str| db.query_one(sql, &[]).unwrap().get::<_, i64>(0);
    Snapshot {
        sentinel,
        sequence: (sequence.get(0), sequence.get(1)),
        advisory_locks: count(
            &mut db,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
        ),
        tables: count(
            &mut db,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
        ),
        slots: count(&mut db, "SELECT count(*) FROM pg_replication_slots"),
    }
}

#[test]
fn hostile_statements_are_refused_and_change_nothing() {
    assert!(HOSTILE.len() >= 60);
    let devplane = DevPlane::start();
    let relay = Relay::start(&relay_config(devplane.port, ""), TOKEN);
    relay.wait_ready();
    // A backend of the relay's own role: the one it could signal if anything got through.
    let mut victim = reader();
    let victim_pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let before = snapshot();

    let mut wrong = Vec::new();
    for (statement, expected) in HOSTILE {
        let sql = statement.replace("{victim}", &victim_pid.to_string());
        let (_, answer) = devplane.operation(
            json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}}),
        );
        if answer["type"] != "error" || answer["code"] != *expected {
            wrong.push(format!("{sql:?}: expected {expected}, got {answer}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} statement(s) not refused as expected:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    assert_eq!(snapshot(), before);
    victim
        .query_one("SELECT 1", &[])
        .expect("the victim backend is still alive");
    for file in [
        "/tmp/relay_pwned_program",
        "/tmp/relay_pwned_copy",
        "/tmp/relay_pwned_lo",
    ] {
        assert!(!std::path::Path::new(file).exists(), "{file} was written");
    }
    // Literals that merely look like attacks are data, not statements.
    let (_, answer) = devplane.operation(json!({"resourceId": "main-pg", "operation": "query",
        "params": {"sql": "SELECT 'x''; DELETE FROM sentinel; --' AS a, $$; DROP TABLE sentinel$$ AS b"}}));
    assert_eq!(answer["type"], "result", "{answer}");
    assert_eq!(snapshot(), before);
}
