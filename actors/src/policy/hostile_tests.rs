//! The hostile-statement table: every way of changing, locking, signalling or escaping the server
//! that the policy must refuse, each with the violation it must be refused with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::policy;
use super::PolicyViolation;

/// Functions a READ ONLY transaction would still run; each gets refused as `SELECT name(...)`.
pub(super) const DENIED_FUNCTIONS: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "pg_advisory_unlock_all",
    "lo_import",
    "lo_export",
    "lo_create",
    "lo_unlink",
    "lo_put",
    "lo_from_bytea",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_stat_file",
    "pg_notify",
    "txid_current",
    "pg_current_xact_id",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_create_logical_replication_slot",
    "pg_create_physical_replication_slot",
    "pg_drop_replication_slot",
    "pg_logical_slot_get_changes",
    "pg_switch_wal",
    "pg_promote",
    "dblink",
    "dblink_exec",
    "dblink_connect",
    "nextval",
    "setval",
    "pg_stat_reset",
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "table_to_xml",
    "cursor_to_xml",
    "pg_import_system_collations",
    "pg_log_backend_memory_contexts",
    "setseed",
    "pg_file_write",
    "pg_backup_start",
];

/// What a hostile statement must be refused with.
enum Expect {
    Exactly(PolicyViolation),
    /// Any `Syntax` violation: the parser's wording is PostgreSQL's business.
    SyntaxError,
}

fn kind(name: &str) -> Expect {
    Expect::Exactly(PolicyViolation::StatementKind(name.to_owned()))
}
fn writes(verb: &str) -> Expect {
    Expect::Exactly(PolicyViolation::DataModifying(verb.to_owned()))
}
fn clause(name: &str) -> Expect {
    Expect::Exactly(PolicyViolation::Clause(name.to_owned()))
}
fn function(name: &str) -> Expect {
    Expect::Exactly(PolicyViolation::Function(name.to_owned()))
}
fn count(statements: usize) -> Expect {
    Expect::Exactly(PolicyViolation::StatementCount(statements))
}
fn other(what: &str) -> Expect {
    Expect::Exactly(PolicyViolation::Other(what.to_owned()))
}
fn explain_analyze() -> Expect {
    Expect::Exactly(PolicyViolation::ExplainAnalyze)
}

/// Statements that write or change the schema, sent as they are.
#[rustfmt::skip]
fn top_level_writes() -> Vec<(&'static str, Expect)> {
    vec![
        ("INSERT INTO t VALUES (1)", kind("INSERT")),
        ("UPDATE t SET a = 1", kind("UPDATE")),
        ("DELETE FROM t", kind("DELETE")),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", kind("MERGE")),
        ("TRUNCATE t", kind("TRUNCATE")),
        ("CREATE TABLE x (a int)", kind("CREATE TABLE")),
        ("CREATE TEMP TABLE x (a int)", kind("CREATE TABLE")),
        ("CREATE TABLE x AS SELECT 1", kind("CREATE TABLE AS")),
        ("CREATE MATERIALIZED VIEW m AS SELECT 1", kind("CREATE MATERIALIZED VIEW")),
        ("SELECT 1 INTO x", clause("INTO")),
        ("SELECT * INTO TEMP x FROM t", clause("INTO")),
        ("SELECT 1 INTO x UNION SELECT 2", clause("INTO")),
        ("DROP TABLE t", kind("DROP")),
        ("ALTER TABLE t ADD COLUMN b int", kind("ALTER TABLE")),
        ("GRANT SELECT ON t TO PUBLIC", kind("GRANT")),
        ("REVOKE ALL ON t FROM PUBLIC", kind("REVOKE")),
        ("GRANT pg_read_server_files TO me", kind("GRANT")),
        ("CREATE INDEX i ON t (a)", kind("CREATE INDEX")),
        ("CREATE VIEW v AS SELECT 1", kind("CREATE VIEW")),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", kind("CREATE FUNCTION")),
        ("CREATE SEQUENCE s", kind("CREATE SEQUENCE")),
        ("CREATE ROLE r SUPERUSER", kind("CREATE ROLE")),
        ("CREATE EXTENSION dblink", kind("CREATE EXTENSION")),
        ("ALTER SYSTEM SET work_mem = '1GB'", kind("ALTER SYSTEM")),
        ("ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC", kind("ALTER DEFAULT PRIVILEGES")),
        ("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", kind("CREATE RULE")),
        ("REASSIGN OWNED BY a TO b", kind("REASSIGN OWNED")),
        ("DROP OWNED BY a", kind("DROP OWNED")),
        ("ALTER TABLE t RENAME TO u", kind("ALTER ... RENAME")),
        ("COMMENT ON TABLE t IS 'x'", kind("COMMENT")),
        ("SECURITY LABEL ON TABLE t IS 'x'", kind("SECURITY LABEL")),
        ("IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO public", kind("IMPORT FOREIGN SCHEMA")),
    ]
}

/// A second statement, or a write, hidden behind comments, quotes, CTEs or sub-queries.
#[rustfmt::skip]
fn smuggled_statements() -> Vec<(&'static str, Expect)> {
    let terminate = || function("pg_terminate_backend");
    vec![
        // More than one statement, hidden or not.
        ("SELECT 1; DROP TABLE t", count(2)),
        ("SELECT 1;COMMIT;DELETE FROM t", count(3)),
        ("SELECT 1 /* ; */ ; DELETE FROM t", count(2)),
        ("SELECT 1; SELECT 2", count(2)),
        ("", count(0)),
        ("   -- only a comment\n", count(0)),
        (";;", count(0)),
        // Comments in front of a write.
        ("-- comment\nDELETE FROM t", kind("DELETE")),
        ("/* nested /* */ */ DELETE FROM t", kind("DELETE")),
        // Quoting and case tricks.
        ("SELECT \"pg_terminate_backend\"(1)", terminate()),
        ("SELECT PG_TERMINATE_BACKEND(1)", terminate()),
        ("SELECT pg_catalog.pg_terminate_backend(1)", function("pg_catalog.pg_terminate_backend")),
        ("SELECT \"COUNT\"(*) FROM t", function("COUNT")),
        ("SELECT U&\"\\0070g_terminate_backend\"(1)", terminate()),
        // One literal by default, a second statement when standard_conforming_strings is off.
        ("SELECT 'x\\' , $$'; DELETE FROM t; --$$", count(2)),
        ("SELECT 'x\\', $$'; SELECT pg_terminate_backend(1); --$$", count(2)),
        // Data-modifying CTEs, also nested.
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", writes("DELETE")),
        ("WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u", writes("UPDATE")),
        ("WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i", writes("INSERT")),
        ("WITH m AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE RETURNING *) SELECT 1", writes("MERGE")),
        ("SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s", writes("DELETE")),
        ("SELECT (WITH d AS (DELETE FROM t RETURNING a) SELECT a FROM d)", writes("DELETE")),
        ("SELECT 1 UNION ALL (WITH d AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM d)", writes("UPDATE")),
    ]
}

/// EXPLAIN that would execute, or explains something that is not a read.
#[rustfmt::skip]
fn explain_statements() -> Vec<(&'static str, Expect)> {
    let terminate = || function("pg_terminate_backend");
    vec![
        ("EXPLAIN ANALYZE DELETE FROM t", kind("DELETE")),
        ("EXPLAIN DELETE FROM t", kind("DELETE")),
        ("EXPLAIN CREATE TABLE x AS SELECT 1", kind("CREATE TABLE AS")),
        ("EXPLAIN ANALYZE SELECT 1", explain_analyze()),
        ("EXPLAIN (ANALYZE) SELECT 1", explain_analyze()),
        ("EXPLAIN (ANALYZE true) SELECT 1", explain_analyze()),
        ("EXPLAIN (ANALYZE false, ANALYZE on) SELECT 1", explain_analyze()),
        ("EXPLAIN ANALYSE SELECT 1", explain_analyze()),
        ("EXPLAIN (ANALYSE) SELECT 1", explain_analyze()),
        ("EXPLAIN (ANALYZE 1) SELECT 1", explain_analyze()),
        ("EXPLAIN SELECT pg_terminate_backend(1)", terminate()),
    ]
}

/// `pg_terminate_backend` hidden in each part of a query a walker could forget to visit.
const TERMINATE_ANYWHERE: &[&str] = &[
    "SELECT * FROM t WHERE pg_terminate_backend(pid)",
    "WITH c AS (SELECT pg_terminate_backend(1)) SELECT * FROM c",
    "SELECT * FROM t CROSS JOIN LATERAL (SELECT pg_terminate_backend(t.pid)) x",
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(1)) FROM t",
    "SELECT * FROM t ORDER BY pg_terminate_backend(1)",
    "SELECT make_interval(days => pg_terminate_backend(1)::int)",
    "SELECT count(*) OVER (PARTITION BY pg_terminate_backend(1)) FROM t",
    "SELECT * FROM t LIMIT pg_terminate_backend(1)::int",
    "SELECT string_agg(a, ',' ORDER BY pg_terminate_backend(1)) FROM t",
    "SELECT CASE WHEN true THEN pg_terminate_backend(1) END",
    "SELECT (ARRAY[1, 2])[pg_terminate_backend(1)::int]",
    "SELECT DISTINCT ON (pg_terminate_backend(1)) a FROM t",
    "SELECT a FROM t GROUP BY ROLLUP (pg_terminate_backend(1))",
    "SELECT a FROM t GROUP BY a HAVING pg_terminate_backend(1)",
    "SELECT * FROM t WHERE a IN (SELECT pg_terminate_backend(1))",
    "SELECT * FROM t JOIN u ON pg_terminate_backend(1)",
    "SELECT COALESCE(NULL, pg_terminate_backend(1))",
    "SELECT 1::numeric(pg_backend_pid() + pg_terminate_backend(1)::int)",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "SELECT * FROM t TABLESAMPLE SYSTEM (10) REPEATABLE (pg_terminate_backend(1))",
    "SELECT 1 UNION SELECT pg_terminate_backend(1)",
    "VALUES (pg_terminate_backend(1))",
];

/// Denied functions reached through every part of a query.
#[rustfmt::skip]
fn denied_function_calls() -> Vec<(&'static str, Expect)> {
    let mut table = vec![
        ("SELECT * FROM pg_ls_dir('.')", function("pg_ls_dir")),
        ("SELECT * FROM dblink('x', 'y') AS t(a int)", function("dblink")),
        ("SELECT dblink.dblink_exec('x', 'DELETE FROM t')", function("dblink.dblink_exec")),
        ("SELECT pg_catalog.set_config('work_mem', '1GB', false)", function("pg_catalog.set_config")),
        ("SELECT public.anything()", function("public.anything")),
        ("SELECT a.b.c(1)", function("a.b.c")),
        ("SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) AS x(a, b)", function("pg_ls_dir")),
        ("SELECT xmlelement(name x, pg_read_file('/etc/passwd'))", function("pg_read_file")),
        ("SELECT JSON_OBJECT('a': pg_read_file('/etc/passwd'))", function("pg_read_file")),
        ("SELECT * FROM JSON_TABLE(pg_read_file('x')::jsonb, '$' COLUMNS (a int PATH '$'))", function("pg_read_file")),
        ("SELECT query_to_xml('delete from t', true, true, '')", function("query_to_xml")),
        ("SELECT xmlelement(name a, xmlattributes(lo_get(1) AS b))", function("lo_get")),
        ("VALUES (DEFAULT)", other("a SetToDefault node inside a query")),
        ("SELECT 1 OPERATOR(public.+) 2", other("operator public.+")),
    ];
    let terminate = TERMINATE_ANYWHERE
        .iter()
        .map(|sql| (*sql, function("pg_terminate_backend")));
    table.extend(terminate);
    table
}

/// Statements a READ ONLY transaction would not stop, or that end it.
#[rustfmt::skip]
fn session_and_server_statements() -> Vec<(&'static str, Expect)> {
    vec![
        ("COPY t TO PROGRAM 'rm -rf /'", kind("COPY")),
        ("COPY (SELECT 1) TO '/tmp/x'", kind("COPY")),
        ("COPY t FROM STDIN", kind("COPY")),
        ("DO $$BEGIN DELETE FROM t; END$$", kind("DO")),
        ("CALL p()", kind("CALL")),
        ("SET work_mem = '1GB'", kind("SET")),
        ("SET LOCAL statement_timeout = 0", kind("SET")),
        ("SET ROLE postgres", kind("SET")),
        ("SET SESSION AUTHORIZATION postgres", kind("SET")),
        ("SET TRANSACTION READ WRITE", kind("SET")),
        ("RESET ALL", kind("RESET")),
        ("RESET statement_timeout", kind("RESET")),
        ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", kind("LOCK")),
        ("BEGIN", kind("BEGIN")),
        ("START TRANSACTION READ WRITE", kind("START TRANSACTION")),
        ("COMMIT", kind("COMMIT")),
        ("ROLLBACK", kind("ROLLBACK")),
        ("SAVEPOINT s", kind("SAVEPOINT")),
        ("RELEASE SAVEPOINT s", kind("RELEASE SAVEPOINT")),
        ("ROLLBACK TO SAVEPOINT s", kind("ROLLBACK TO SAVEPOINT")),
        ("ABORT", kind("ROLLBACK")),
        ("END", kind("COMMIT")),
        ("COMMIT PREPARED 'x'", kind("COMMIT PREPARED")),
        ("PREPARE TRANSACTION 'x'", kind("PREPARE TRANSACTION")),
        ("PREPARE p AS DELETE FROM t", kind("PREPARE")),
        ("EXECUTE p", kind("EXECUTE")),
        ("DECLARE c CURSOR FOR SELECT 1", kind("DECLARE CURSOR")),
        ("FETCH c", kind("FETCH")),
        ("CLOSE c", kind("CLOSE")),
        ("DEALLOCATE ALL", kind("DEALLOCATE")),
        ("LISTEN ch", kind("LISTEN")),
        ("UNLISTEN *", kind("UNLISTEN")),
        ("NOTIFY ch, 'x'", kind("NOTIFY")),
        ("VACUUM t", kind("VACUUM")),
        ("ANALYZE t", kind("ANALYZE")),
        ("CLUSTER t", kind("CLUSTER")),
        ("REINDEX TABLE t", kind("REINDEX")),
        ("REFRESH MATERIALIZED VIEW v", kind("REFRESH MATERIALIZED VIEW")),
        ("CHECKPOINT", kind("CHECKPOINT")),
        ("DISCARD ALL", kind("DISCARD")),
        ("LOAD 'plpgsql'", kind("LOAD")),
    ]
}

/// Row locks, and text that is not SQL or cannot be checked.
#[rustfmt::skip]
fn locks_and_garbage() -> Vec<(&'static str, Expect)> {
    vec![
        // Row locks.
        ("SELECT * FROM t FOR UPDATE", clause("FOR UPDATE")),
        ("SELECT * FROM t FOR SHARE", clause("FOR SHARE")),
        ("SELECT * FROM t FOR NO KEY UPDATE NOWAIT", clause("FOR NO KEY UPDATE")),
        ("SELECT * FROM t FOR KEY SHARE", clause("FOR KEY SHARE")),
        ("SELECT * FROM (SELECT * FROM t FOR UPDATE) s", clause("FOR UPDATE")),
        ("WITH c AS (SELECT * FROM t FOR UPDATE SKIP LOCKED) SELECT * FROM c", clause("FOR UPDATE")),
        ("SELECT * FROM t WHERE a IN (SELECT a FROM u FOR SHARE)", clause("FOR SHARE")),
        // Not SQL, or not checkable.
        ("SELEC 1", Expect::SyntaxError),
        ("SELECT FROM WHERE", Expect::SyntaxError),
        ("DELETE", Expect::SyntaxError),
        ("SELECT 'unterminated", Expect::SyntaxError),
        ("SELECT 1\0; DELETE FROM t", Expect::SyntaxError),
        ("\u{feff}DELETE FROM t", Expect::SyntaxError),
    ]
}

fn hostile_statements() -> Vec<(&'static str, Expect)> {
    let groups = [
        top_level_writes(),
        smuggled_statements(),
        explain_statements(),
        denied_function_calls(),
        session_and_server_statements(),
        locks_and_garbage(),
    ];
    groups.into_iter().flatten().collect()
}

#[test]
fn hostile_statements_are_refused_with_the_expected_violation() {
    let policy = policy();
    let table = hostile_statements();
    assert!(table.len() >= 70, "only {} hostile statements", table.len());
    for (sql, expected) in table {
        let outcome = policy.check_query(sql);
        match expected {
            Expect::Exactly(violation) => assert_eq!(outcome, Err(violation), "{sql}"),
            Expect::SyntaxError => assert!(
                matches!(outcome, Err(PolicyViolation::Syntax(_))),
                "{sql}: {outcome:?}"
            ),
        }
    }
}

#[test]
fn every_denied_function_is_refused_plain_and_qualified() {
    let policy = policy();
    for name in DENIED_FUNCTIONS {
        let sql = format!("SELECT {name}()");
        assert_eq!(
            policy.check_query(&sql),
            Err(PolicyViolation::Function((*name).to_owned())),
            "{sql}"
        );
        let sql = format!("SELECT pg_catalog.{name}()");
        assert_eq!(
            policy.check_query(&sql),
            Err(PolicyViolation::Function(format!("pg_catalog.{name}"))),
            "{sql}"
        );
        let sql = format!("SELECT * FROM {name}() AS x(a int)");
        assert!(
            matches!(policy.check_query(&sql), Err(PolicyViolation::Function(_))),
            "{sql}"
        );
    }
}

#[test]
fn statements_too_deep_for_the_decoder_are_refused_as_syntax() {
    let sql = format!("SELECT 1{}", "+1".repeat(200));
    assert!(policy().check_query(&sql).unwrap_err().is_syntax());
}
