//! Masking of every value that leaves, end to end against real PostgreSQL: identifiers stored as
//! numbers, jsonb keys, bytea, records and arrays sent as text, the formats people store, SQL
//! password literals seen through `pg_stat_activity`, and ordinary numeric, float, interval,
//! time, uuid and network results that must come back unchanged.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{query_result as query, relay_config_for, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};
use std::sync::OnceLock;

const SECRETS: &[&str] = &[
    "52998224725",
    "4111111111111111",
    "ana@example.com",
    "616e61406578616d706c652e636f6d",
    "YW5hQGV4YW1wbGUuY29t",
];

/// A table of PII stored the ways the text scan used to miss, created once per run.
fn pii_table() {
    static CREATED: OnceLock<()> = OnceLock::new();
    CREATED.get_or_init(|| {
        admin(shared_db())
            .batch_execute(
                "CREATE TABLE pii_values (id int PRIMARY KEY, cpf bigint, card bigint, \
                   cpf_float float8, cpf_numeric numeric, doc jsonb, blob bytea);
                 INSERT INTO pii_values VALUES (1, 52998224725, 4111111111111111, 52998224725,
                   52998224725, '{\"contact\": {\"ana@example.com\": \"primary\"}}',
                   convert_to('ana@example.com', 'UTF8'));
                 GRANT SELECT ON pii_values TO relay_it_reader;",
            )
            .expect("create pii_values");
    });
}

fn started_as(user: &str) -> (DevPlane, Relay) {
    pii_table();
    let devplane = DevPlane::start();
    let relay = Relay::start(&relay_config_for(devplane.port, "", user, ""), TOKEN);
    relay.wait_ready();
    (devplane, relay)
}

fn assert_no_secret(result: &Value) {
    let text = result["rows"].to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} left in {text}");
    }
}

#[test]
fn numbers_keys_and_bytes_are_masked() {
    let (devplane, _relay) = started_as(READER);
    let result = query(
        &devplane,
        "SELECT cpf, card, cpf_float, cpf_numeric, doc, blob FROM pii_values",
    );
    assert_eq!(
        result["rows"][0],
        json!([
            "***.***.***-**",
            "[card]",
            "***.***.***-**",
            "***.***.***-**",
            {"contact": {"***@***.***": "primary"}},
            "***@***.***"
        ])
    );
    let counts = &result["masked"]["byPattern"];
    assert_eq!(
        (&counts["cpf"], &counts["creditCard"]),
        (&json!(3), &json!(1))
    );
    assert_eq!(counts["email"], 2, "{result}");
    assert_no_secret(&result);
}

const LARGE_COLUMNS: &str =
    "cpf, card, cpf_float, cpf_numeric, doc, blob, 'ana@example.com' AS mail, n, repeat('-', 1100)";

/// `rows` copies of the PII row, numbered by their last column but one.
fn numbered_rows(devplane: &DevPlane, rows: usize) -> Value {
    query(
        devplane,
        &format!(
            "SELECT {LARGE_COLUMNS} FROM pii_values, generate_series(1, {rows}) AS n ORDER BY n"
        ),
    )
}

/// Every row of `many` is the one row of `one` with its number, and each pattern is counted once
/// per row.
fn assert_masked_as_one(one: &Value, many: &Value, rows: usize) {
    assert_no_secret(many);
    let got = many["rows"].as_array().expect("rows");
    assert_eq!((got.len(), &many["rowCount"]), (rows, &json!(rows)));
    for (index, row) in got.iter().enumerate() {
        let mut expected = one["rows"][0].clone();
        expected[7] = json!(index + 1);
        assert_eq!(row, &expected, "row {index} of {rows}");
    }
    for (pattern, count) in one["masked"]["byPattern"].as_object().expect("counts") {
        let count = count.as_u64().expect("a count");
        let expected = json!(count * rows as u64);
        assert_eq!(many["masked"]["byPattern"][pattern], expected, "{pattern}");
    }
}

#[test]
fn a_large_result_written_as_it_is_masked_masks_each_row_as_a_small_one() {
    let (devplane, _relay) = started_as(READER);
    let one = numbered_rows(&devplane, 1);
    // Past the first rows a result is masked as it is decoded and written as text; from a
    // megabyte of text it is copied into its message on another thread.
    for rows in [31, 32, 33, 100, 1000] {
        let many = numbered_rows(&devplane, rows);
        assert_eq!(many["truncated"], false, "{rows}");
        assert_masked_as_one(&one, &many, rows);
    }
}

#[test]
fn a_row_limit_at_the_switch_to_written_rows_truncates_as_masked_rows() {
    pii_table();
    for limit in [31, 32, 33] {
        let devplane = DevPlane::start();
        let config = relay_config_for(devplane.port, "", READER, "").replace(
            "maxRowsPerQuery: 1000",
            &format!("maxRowsPerQuery: {limit}"),
        );
        let relay = Relay::start(&config, TOKEN);
        relay.wait_ready();
        let one = numbered_rows(&devplane, 1);
        let many = numbered_rows(&devplane, 40);
        assert_eq!(many["truncated"], true, "limit {limit}: {many}");
        assert_masked_as_one(&one, &many, limit);
    }
}

#[test]
fn records_arrays_and_json_of_a_row_are_scanned() {
    let (devplane, _relay) = started_as(READER);
    for sql in [
        "SELECT p FROM pii_values p",
        "SELECT row_to_json(p) AS j FROM pii_values p",
        "SELECT to_jsonb(p) AS j FROM pii_values p",
        "SELECT ARRAY[p] AS a FROM pii_values p",
        "SELECT array_agg(cpf) AS cpfs, array_agg(blob) AS blobs FROM pii_values",
        "SELECT int8range(cpf, cpf + 1) AS r FROM pii_values",
        "SELECT (SELECT p FROM pii_values p) AS sub",
        "SELECT ROW(cpf, card, blob, doc) AS r FROM pii_values",
    ] {
        let result = query(&devplane, sql);
        assert!(
            result["masked"]["total"].as_u64().unwrap() > 0,
            "{sql}: {result}"
        );
        assert_no_secret(&result);
    }
}

#[test]
fn ordinary_numbers_times_and_addresses_are_not_masked() {
    let (devplane, _relay) = started_as(READER);
    let result = query(
        &devplane,
        "SELECT exp(1.0) AS e, 3.789 ^ 21 AS power, \
           sqrt(12345678901234567890123456789::numeric) AS root, \
           exp(35::float8) AS big_float, pi() AS pi, 4111111111111111.5 AS fraction, \
           1700000000000000::bigint AS micros, 9007199254740993::bigint AS big, \
           interval '1 year 2 months 3.529982247 seconds' AS iv, \
           timestamp '2024-01-15 10:30:00.123456' AS ts, \
           '41111111-1111-4111-8111-111111111111'::uuid AS u, \
           '192.168.10.1'::inet AS ip, '2001:db8::1'::inet AS ip6, \
           (1409343026052.8716016316022141, 52998224726)::text AS rec",
    );
    assert_eq!(result["masked"]["total"], 0, "{result}");
    let row = &result["rows"][0];
    assert_eq!(row[0], "2.7182818284590452");
    assert_eq!(row[1], "1409343026052.8716016316022141");
    assert_eq!(row[5], "4111111111111111.5");
    assert_eq!(row[6], 1700000000000000u64);
    assert_eq!(row[10], "41111111-1111-4111-8111-111111111111");
}

#[test]
fn stored_formats_are_masked_whole() {
    let (devplane, _relay) = started_as(READER);
    let result = query(
        &devplane,
        "SELECT 'joão.silva@gmail.com' AS a, 'para josé@exemplo.com.br' AS b, \
           '529 982 247 25' AS c, '4111.1111.1111.1111' AS d, \
           'Authorization: Bearer abc123def456' AS e, 'eyJhbGciOiJub25lIn0.e30.' AS f, \
           $$ALTER ROLE app PASSWORD 'hunter2'$$ AS g",
    );
    assert_eq!(
        result["rows"][0],
        json!([
            "***@***.***",
            "para ***@***.***",
            "***.***.***-**",
            "[card]",
            "Authorization: Bearer [token]",
            "[jwt]",
            "ALTER ROLE app PASSWORD '***'"
        ]),
        "{result}"
    );
}

#[test]
fn password_literals_seen_in_pg_stat_activity_are_masked() {
    pii_table();
    const STATS_READER: &str = "relay_it_mask_stats_reader";
    let mut setup = admin(shared_db());
    setup
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{STATS_READER}')
               THEN CREATE ROLE {STATS_READER} LOGIN; END IF;
             END $$;
             GRANT pg_read_all_stats TO {STATS_READER};
             GRANT CONNECT ON DATABASE \"{}\" TO {STATS_READER};",
            shared_db()
        ))
        .unwrap();
    // This session stays idle with the statement as its last query.
    let mut other = admin(shared_db());
    other
        .batch_execute(&format!(
            "ALTER ROLE {STATS_READER} PASSWORD 'Sup3r-Secret-Literal'"
        ))
        .unwrap();
    let (devplane, _relay) = started_as(STATS_READER);
    let result = query(
        &devplane,
        "SELECT query FROM pg_stat_activity WHERE query LIKE 'ALTER ROLE%'",
    );
    let text = result["rows"].to_string();
    assert!(text.contains("PASSWORD '***'"), "{result}");
    assert!(!text.contains("Sup3r-Secret-Literal"), "{text}");
    assert_eq!(result["masked"]["byPattern"]["sqlPassword"], 1, "{result}");
    drop(other);
}
