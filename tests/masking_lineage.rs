//! Column rules that follow their column under any name, end to end against real PostgreSQL and
//! the MongoDB wire test server: aliases, operators, functions, aggregates, window functions,
//! sub-queries, CTEs, set operations, whole rows, views, `*`, and MongoDB renames, with the
//! strictest rule winning, a `table`-scoped rule staying in its table, and ordinary columns left
//! as they are.

use crate::mongo_fixture::Mongo;
use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{
    query_result as query, relay_config_for, relay_config_with, DevPlane, Relay, TOKEN,
};
use serde_json::{json, Value};
use std::sync::OnceLock;

const SECRETS: &[&str] = &["hunter2-secret", "tok-abcdef123456", "note-private"];

/// `password` redacted everywhere, `api_token` partly, `secret_note` only in `lineage_accounts`.
const RULES: &str = "  columns:
    - {name: password}
    - {name: api_token, strategy: partial, keep: 4}
    - {name: secret_note, table: public.lineage_accounts}
";

fn tables() {
    static CREATED: OnceLock<()> = OnceLock::new();
    CREATED.get_or_init(|| {
        admin(shared_db())
            .batch_execute(
                "CREATE TABLE lineage_accounts (id int PRIMARY KEY, login text, password text,
                   api_token text, secret_note text);
                 INSERT INTO lineage_accounts VALUES
                   (1, 'ana', 'hunter2-secret', 'tok-abcdef123456', 'note-private');
                 CREATE TABLE lineage_notes (id int, secret_note text);
                 INSERT INTO lineage_notes VALUES (1, 'a public note');
                 CREATE TABLE lineage_stats (password text);
                 INSERT INTO lineage_stats SELECT CASE WHEN g % 2 = 0 THEN 'hunter2-secret'
                   ELSE 'pw-' || g END FROM generate_series(1, 200) AS g;
                 ANALYZE lineage_stats;
                 CREATE VIEW lineage_view AS SELECT id, upper(password) AS pw FROM lineage_accounts;
                 GRANT SELECT ON lineage_accounts, lineage_notes, lineage_view, lineage_stats
                   TO relay_it_reader;",
            )
            .expect("create the lineage tables");
    });
}

fn with_rules(config: String) -> String {
    let replaced = config.replacen(
        "masking:\n  enabled: true\n",
        &format!("masking:\n  enabled: true\n{RULES}"),
        1,
    );
    assert_ne!(
        replaced, config,
        "the test configuration has a masking section"
    );
    replaced
}

fn started() -> (DevPlane, Relay) {
    tables();
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &with_rules(relay_config_for(devplane.port, "", READER, "")),
        TOKEN,
    );
    relay.wait_ready();
    (devplane, relay)
}

fn find_secret(sql: &str, result: &Value) -> Result<(), String> {
    let text = result["rows"].to_string().to_lowercase();
    match SECRETS.iter().find(|secret| text.contains(*secret)) {
        Some(secret) => Err(format!("{secret} left by {sql}: {text}")),
        None => Ok(()),
    }
}

/// Statements that read a protected column under another name, each of which must come back
/// masked.
const UNDER_ANY_NAME: &[&str] = &[
    "SELECT password AS p FROM lineage_accounts",
    "SELECT password || '' AS p FROM lineage_accounts",
    "SELECT upper(api_token) FROM lineage_accounts",
    "SELECT substr(password, 1, 100), reverse(api_token) FROM lineage_accounts",
    "SELECT array_agg(password) FROM lineage_accounts",
    "SELECT string_agg(api_token, ',') FROM lineage_accounts",
    "SELECT max(password) AS m FROM lineage_accounts",
    "SELECT p FROM (SELECT password AS p FROM lineage_accounts) AS s",
    "SELECT (SELECT password FROM lineage_accounts LIMIT 1) AS q",
    "WITH c AS (SELECT api_token AS t FROM lineage_accounts) SELECT t FROM c",
    "WITH c(x) AS (SELECT password FROM lineage_accounts) SELECT x FROM c",
    "SELECT a FROM lineage_accounts AS a",
    "SELECT row_to_json(a) FROM lineage_accounts AS a",
    "SELECT json_agg(a) FROM lineage_accounts AS a",
    "SELECT to_jsonb(a.*) FROM lineage_accounts AS a",
    "SELECT login FROM lineage_accounts UNION ALL SELECT password FROM lineage_accounts",
    "SELECT first_value(password) OVER (ORDER BY id) FROM lineage_accounts",
    "SELECT CASE WHEN id = 1 THEN password ELSE login END FROM lineage_accounts",
    "SELECT pw FROM lineage_view",
    "SELECT *, upper(password) AS x FROM lineage_accounts",
    "SELECT secret_note AS n, upper(secret_note) FROM lineage_accounts",
    "SELECT s.* FROM (SELECT password || api_token AS both_ FROM lineage_accounts) AS s",
    "SELECT (a).password AS x FROM lineage_accounts AS a",
    "SELECT l.x FROM lineage_accounts AS a, LATERAL (SELECT a.password AS x) AS l",
    "SELECT j FROM lineage_accounts AS a, row_to_json(a) AS j",
    "SELECT u FROM lineage_accounts, unnest(ARRAY[password, api_token]) AS u",
    "SELECT v.x FROM (VALUES ((SELECT password FROM lineage_accounts LIMIT 1))) AS v(x)",
    "WITH RECURSIVE r(x, n) AS (SELECT password, 1 FROM lineage_accounts \
     UNION ALL SELECT x || '', n + 1 FROM r WHERE n < 2) SELECT x FROM r",
    "SELECT (SELECT string_agg(c, '') FROM regexp_split_to_table(password, '') AS c) \
     FROM lineage_accounts",
    "TABLE lineage_accounts",
    "SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats \
     WHERE tablename = 'lineage_stats'",
    "SELECT * FROM pg_catalog.pg_stats WHERE tablename = 'lineage_stats'",
    "SELECT s.most_common_vals FROM pg_stats AS s WHERE s.attname = 'password'",
    "SELECT password::bytea AS b, to_json(api_token) AS j FROM lineage_accounts",
    "SELECT x FROM lineage_accounts AS a JOIN lineage_notes AS n USING (id), \
     LATERAL (SELECT a.api_token || n.secret_note AS x) AS l",
    // A LATERAL item on the right of an explicit JOIN reading the left side.
    "SELECT l.x FROM lineage_accounts AS a \
     CROSS JOIN LATERAL (SELECT a.password || '' AS x) AS l",
    "SELECT l.x FROM lineage_accounts AS a JOIN LATERAL (SELECT upper(a.api_token) AS x) AS l \
     ON true",
    "SELECT u FROM lineage_accounts AS a CROSS JOIN LATERAL unnest(ARRAY[a.password]) AS u",
    "SELECT x FROM lineage_accounts AS a \
     CROSS JOIN LATERAL jsonb_each_text(to_jsonb(a)) AS e(k, x)",
    "SELECT l.v FROM lineage_accounts AS a \
     JOIN LATERAL (VALUES (a.password || '')) AS l(v) ON true",
    "SELECT l.x FROM lineage_notes AS n JOIN lineage_accounts AS a ON true \
     JOIN LATERAL (SELECT a.password || '' AS x) AS l ON true",
    // A composite expanded by `(x).*` is one select-list entry but several result columns.
    "SELECT 0, login, login, login, login FROM lineage_accounts \
     UNION ALL SELECT (a).* FROM lineage_accounts AS a",
    "SELECT 'x', 'x', 'x' UNION ALL SELECT (x).* \
     FROM (SELECT ROW(login, password, api_token)::record AS x FROM lineage_accounts) AS s",
    "SELECT c3, c4, c5 FROM (SELECT ((SELECT a FROM lineage_accounts AS a)).*, 'z') \
     AS s(c1, c2, c3, c4, c5, c6)",
    "WITH c(c1, c2, c3, c4, c5, c6) AS (SELECT ((SELECT a FROM lineage_accounts AS a)).*, 'z') \
     SELECT c3, c4, c5 FROM c",
    "SELECT n.*, (s.r).* FROM lineage_notes AS n, \
     (SELECT ROW(password || '', api_token || '') AS r FROM lineage_accounts) AS s",
    // Recursive CTEs that carry a value more than two steps.
    "WITH RECURSIVE r(a, b, c, n) AS (SELECT login, login, password, 0 FROM lineage_accounts \
     UNION ALL SELECT b, c, a, n + 1 FROM r WHERE n < 4) SELECT a FROM r",
    "WITH RECURSIVE r(a, b, c, n) AS (SELECT 'x', 'y', 'z', 0 UNION ALL \
     SELECT b, c, (SELECT password FROM lineage_accounts), n + 1 FROM r WHERE n < 4) \
     SELECT a FROM r",
    "WITH RECURSIVE a1(v) AS (SELECT v FROM a2), a2(v) AS (SELECT v FROM a3), \
     a3(v) AS (SELECT password || '' FROM lineage_accounts) SELECT v FROM a1",
    // A statistics view whose value column is renamed to a describing column's name.
    "SELECT s.tablename FROM pg_stats AS s(a, b, c, d, e, f, g, tablename, i, j, k) \
     WHERE b = 'lineage_stats'",
    "SELECT s.n_distinct FROM lineage_notes AS n, \
     pg_stats AS s(a, b, c, d, e, f, g, n_distinct, i, j, k) WHERE b = 'lineage_stats'",
];

#[test]
fn a_protected_column_stays_masked_under_any_name() {
    let (devplane, _relay) = started();
    let leaks: Vec<String> = UNDER_ANY_NAME
        .iter()
        .filter_map(|sql| find_secret(sql, &query(&devplane, sql)).err())
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// Past its first rows a result is masked as it is written: the same rules by lineage apply.
#[test]
fn a_protected_column_stays_masked_past_the_first_rows() {
    let (devplane, _relay) = started();
    let many =
        |sql: &str| format!("SELECT q.* FROM ({sql}) AS q CROSS JOIN generate_series(1, 40)");
    let leaks: Vec<String> = UNDER_ANY_NAME
        .iter()
        .map(|sql| many(sql))
        .filter_map(|sql| find_secret(&sql, &query(&devplane, &sql)).err())
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    let token = query(
        &devplane,
        &many("SELECT api_token AS t FROM lineage_accounts"),
    );
    let notes = query(&devplane, &many("SELECT secret_note FROM lineage_notes"));
    for (result, expected) in [(token, "************3456"), (notes, "a public note")] {
        let rows = result["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 40, "{result}");
        assert!(rows.iter().all(|row| row[0] == expected), "{result}");
    }
}

/// A `partial` rule keeps the end of a value; applied to a value computed from the column, it keeps
/// the end of that value, so windows over the column show every character of it.
#[test]
fn a_partial_rule_does_not_show_other_pieces_of_its_column() {
    let (devplane, _relay) = started();
    let sql = "SELECT substr(api_token, 1, 8) AS a, substr(api_token, 1, 12) AS b, \
               reverse(api_token) AS c, api_token AS d FROM lineage_accounts";
    let result = query(&devplane, sql);
    let text = result["rows"].to_string().to_lowercase();
    for piece in ["abcd", "ef12", "-kot", "tok-"] {
        assert!(
            !text.contains(piece),
            "{piece} of the token left by {sql}: {text}"
        );
    }
}

/// PostgreSQL's error text quotes the input that failed a cast; the error goes back to the caller.
#[test]
fn an_error_does_not_echo_a_protected_value() {
    let (devplane, _relay) = started();
    let mut leaks = Vec::new();
    for sql in [
        "SELECT password::int FROM lineage_accounts",
        "SELECT 1 FROM lineage_accounts WHERE password::date IS NULL",
        "SELECT password::regclass FROM lineage_accounts",
        "SELECT password::regproc FROM lineage_accounts",
        "SELECT CAST(api_token AS numeric) FROM lineage_accounts",
        "SELECT 1 FROM lineage_accounts WHERE api_token::interval IS NULL",
        "SELECT ('{' || password || '}')::int[] FROM lineage_accounts",
        "SELECT to_date(api_token, 'YYYY-MM-DD') FROM lineage_accounts",
    ] {
        let (code, body) = devplane.operation(
            json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}}),
        );
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["type"], "error", "{sql}: {body}");
        let text = body["message"].to_string().to_lowercase();
        for piece in ["hunter2", "tok-"] {
            if text.contains(piece) {
                leaks.push(format!("{piece} left by {sql}: {text}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

#[test]
fn the_strictest_rule_wins_and_is_counted_under_its_column() {
    let (devplane, _relay) = started();
    let result = query(
        &devplane,
        "SELECT password || api_token AS both_ FROM lineage_accounts",
    );
    assert_eq!(
        result["rows"][0][0], "***",
        "redact beats partial: {result}"
    );
    let counted = &result["masked"]["byPattern"]["column:public.lineage_accounts.password"];
    assert_eq!(counted, 1, "{result}");
    let result = query(
        &devplane,
        "SELECT upper(api_token) AS t FROM lineage_accounts",
    );
    // Computed from a column under a partial rule: only the whole value is safe.
    assert_eq!(result["rows"][0][0], "***", "{result}");
    let result = query(&devplane, "SELECT api_token AS t FROM lineage_accounts");
    assert_eq!(
        result["rows"][0][0], "************3456",
        "the column itself: {result}"
    );
}

#[test]
fn columns_that_read_nothing_protected_are_left_alone() {
    let (devplane, _relay) = started();
    let result = query(
        &devplane,
        "SELECT login, upper(login) AS u, length(password) AS n FROM lineage_accounts",
    );
    // The length of a password is computed from it, so it is masked too: lineage follows reads,
    // not meaning. The login is not.
    assert_eq!(result["rows"][0][0], "ana", "{result}");
    assert_eq!(result["rows"][0][1], "ANA", "{result}");
    assert_eq!(result["rows"][0][2], "***", "{result}");
    let notes = query(
        &devplane,
        "SELECT secret_note, upper(secret_note) FROM lineage_notes",
    );
    assert_eq!(
        notes["rows"][0],
        json!(["a public note", "A PUBLIC NOTE"]),
        "a rule scoped to another table: {notes}"
    );
}

fn mongo_seed(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let seed = json!({"databases": {"shop": {"collections": {
        "users": [{"_id": 1, "login": "ana", "password": "hunter2-secret",
                   "profile": {"api_token": "tok-abcdef123456"}, "secret_note": "note-private"}],
        "notes": [{"_id": 1, "secret_note": "a public note"}]
    }}}});
    let path = dir.path().join("seed.json");
    std::fs::write(&path, seed.to_string()).unwrap();
    path
}

fn mongo_started(mongo: &Mongo) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let config = with_rules(relay_config_with(
        devplane.port,
        "",
        &mongo.resource_yaml(""),
    ))
    .replace(
        "public.lineage_accounts",
        &format!("{}.users", mongo.database),
    );
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    (devplane, relay)
}

fn mongo_read(devplane: &DevPlane, operation: &str, params: Value) -> Value {
    let (code, body) = devplane
        .operation(json!({"resourceId": "mongo", "operation": operation, "params": params}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["type"], "result", "{params}: {body}");
    body
}

#[test]
fn mongodb_renames_of_protected_fields_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mongo = Mongo::start_with_seed(&mongo_seed(&dir));
    let (devplane, _relay) = mongo_started(&mongo);
    let mut leaks = Vec::new();
    for pipeline in [
        json!([{"$project": {"pw": "$password", "t": "$profile.api_token"}}]),
        json!([{"$project": {"x": {"$concat": ["$login", "$password"]}}}]),
        json!([{"$group": {"_id": null, "all": {"$push": "$password"}}}]),
        json!([{"$replaceRoot": {"newRoot": {"inner": {"k": "$profile.api_token"}}}}]),
        json!([{"$addFields": {"n": "$secret_note"}}]),
        // Field names turned into values: the name-based rules no longer see them.
        json!([{"$project": {"kv": {"$objectToArray": "$$ROOT"}}}]),
        json!([{"$project": {"kv": {"$objectToArray": "$profile"}}}]),
        json!([{"$project": {"x": {"$map": {"input": {"$objectToArray": "$$ROOT"},
                                             "as": "e", "in": "$$e.v"}}}}]),
        json!([{"$project": {"x": "$$ROOT"}}, {"$project": {"y": {"$objectToArray": "$x"}}}]),
    ] {
        let params = json!({"collection": "users", "pipeline": pipeline});
        let result = mongo_read(&devplane, "query", params);
        if let Err(leak) = find_secret(&pipeline.to_string(), &result) {
            leaks.push(leak);
        }
    }
    // A rule scoped to `users` does not follow its field into another collection's `$lookup`.
    let lookup = json!([{"$lookup": {"from": "users", "localField": "_id",
                                     "foreignField": "_id", "as": "u"}},
                        {"$project": {"n": "$u.secret_note"}}]);
    let result = mongo_read(
        &devplane,
        "query",
        json!({"collection": "notes", "pipeline": lookup}),
    );
    if let Err(leak) = find_secret(&lookup.to_string(), &result) {
        leaks.push(leak);
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // Computed find projections (which the wire test server does not run) are traced the same
    // way; the unit tests of the field lineage cover them.
    let params =
        json!({"collection": "users", "pipeline": [{"$project": {"login": 1, "p": "$password"}}]});
    let found = mongo_read(&devplane, "query", params);
    assert_eq!(found["rows"][0][0]["login"], "ana", "{found}");
    assert_eq!(found["rows"][0][0]["p"], "***", "{found}");
    let notes = mongo_read(&devplane, "query", json!({"collection": "notes"}));
    assert_eq!(
        notes["rows"][0][0]["secret_note"], "a public note",
        "{notes}"
    );
    let users = mongo_read(&devplane, "query", json!({"collection": "users"}));
    assert_eq!(users["rows"][0][0]["secret_note"], "***", "{users}");
}
