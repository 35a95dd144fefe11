//! Values beyond strings: numbers judged whole, object keys, binaries (bytea, `$binary`, hex
//! escapes in record text), and PostgreSQL's numeric, float, interval, time, uuid and network
//! outputs that must come back unchanged.

use super::*;
use base64::Engine as _;

fn defaults() -> MaskingEngine {
    engine(seed_patterns(), Builtins::default(), vec![])
}

fn masked_value(engine: &MaskingEngine, mut value: Value) -> (Value, MaskedCounts) {
    let mut counts = MaskedCounts::default();
    engine.mask_value(&mut value, &mut counts);
    (value, counts)
}

fn column(name: &str, type_name: &str) -> Column {
    Column {
        name: name.into(),
        type_name: type_name.into(),
    }
}

fn base64(bytes: &[u8]) -> Value {
    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[test]
fn identifiers_stored_as_numbers_leave_as_their_replacement() {
    let engine = defaults();
    for (number, expected, name) in [
        (json!(52998224725u64), "***.***.***-**", "cpf"),
        (json!(-52998224725i64), "***.***.***-**", "cpf"),
        (json!(4111111111111111u64), "[card]", "creditCard"),
        (json!(11222333000181u64), "**.***.***/****-**", "cnpj"),
        (json!(4111111111111111.0), "[card]", "creditCard"),
        (json!(52998224725.0), "***.***.***-**", "cpf"),
    ] {
        let (value, counts) = masked_value(&engine, json!({"n": [number.clone()]}));
        assert_eq!(value, json!({"n": [expected]}), "{number}");
        assert_eq!(counts.by_pattern.get(name), Some(&1), "{number}");
    }
}

#[test]
fn a_number_is_judged_whole_and_fractions_never_match() {
    let engine = defaults();
    let untouched = json!([
        std::f64::consts::E,
        1398443166301.5,
        0.4111111111111111,
        52998224726u64,
        12345678901u64,
        1700000000000000u64,
        1541815603606036480u64,
        9007199254740993u64,
        4111111111111112u64,
        5299822472u64,
        -1,
        1e300,
    ]);
    let (value, counts) = masked_value(&engine, untouched.clone());
    assert_eq!((value, counts.total), (untouched, 0));
}

#[test]
fn configured_patterns_must_match_a_numbers_whole_text() {
    let ssn = MaskPattern {
        name: "ssn".into(),
        regex: r"\d{9}".into(),
        replacement: "[ssn]".into(),
    };
    let engine = engine(vec![ssn], Builtins::none(), vec![]);
    let (value, counts) = masked_value(
        &engine,
        json!([123456789, 1234567890, 123456789.5, -123456789]),
    );
    assert_eq!(value, json!(["[ssn]", 1234567890, 123456789.5, -123456789]));
    assert_eq!(counts.by_pattern["ssn"], 1);
}

#[test]
fn numbers_in_text_follow_the_same_boundary_rule() {
    let engine = builtins_only(Builtins::default());
    // PostgreSQL's numeric, float, interval, timestamp, uuid and network outputs.
    for text in [
        "2.7182818284590452",
        "1398443166301.5298816181041",
        "111111111.11111110611111109",
        "4111111111111111.00",
        "0.52998224725",
        "52998224725.5",
        "2.718281828459045e+21",
        "P1Y2M3DT4H5M6.529982247S",
        "1 year 2 mons 3 days 04:05:06.5",
        "2024-01-15T10:30:00.123456Z",
        "2024-01-15 10:30:00.123456+00",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "41111111-1111-4111-8111-111111111111",
        "192.168.10.1",
        "2001:db8::1",
        "10.0.0.0/8",
    ] {
        let (masked, counts) = mask(&engine, text);
        assert_eq!((masked.as_str(), counts.total), (text, 0), "{text}");
    }
    assert_eq!(mask(&engine, "52998224725").0, "***.***.***-**");
    assert_eq!(
        mask(&engine, "cpf 529.982.247-25.").0,
        "cpf ***.***.***-**."
    );
    assert_eq!(
        mask(&engine, "(1,52998224725,4111111111111111)").0,
        "(1,***.***.***-**,[card])"
    );
}

#[test]
fn keys_are_masked_like_values_and_colliding_keys_all_survive() {
    let engine = defaults();
    let (value, counts) = masked_value(
        &engine,
        json!({"contact": {"ana@example.com": "primary", "bo@example.org": "backup",
               "***@***.***": "literal", "plain": 1}}),
    );
    let contact = value["contact"].as_object().unwrap();
    assert_eq!(contact.len(), 4, "{value}");
    assert_eq!(contact["plain"], 1);
    let mut survivors: Vec<&str> = contact.values().filter_map(Value::as_str).collect();
    survivors.sort_unstable();
    assert_eq!(survivors, ["backup", "literal", "primary"]);
    assert!(!value.to_string().contains("example"), "{value}");
    assert!(contact
        .keys()
        .all(|k| k == "plain" || k.starts_with("***@***.***")));
    assert_eq!(counts.by_pattern["email"], 2);
}

#[test]
fn column_rules_use_the_original_key() {
    let rule = ColumnRule {
        name: Some("password".into()),
        regex: None,
        table: None,
        strategy: MaskStrategy::Redact,
        replacement: "[pw]".into(),
        keep: 4,
    };
    let engine = engine(seed_patterns(), Builtins::default(), vec![rule]);
    let (value, _) = masked_value(
        &engine,
        json!({"password": "hunter2", "ana@example.com": {"password": "x"}}),
    );
    assert_eq!(
        value,
        json!({"password": "[pw]", "***@***.***": {"password": "[pw]"}})
    );
}

#[test]
fn bytea_cells_are_scanned_as_bytes_and_replaced_whole() {
    let engine = defaults();
    let columns = [
        column("blob", "bytea"),
        column("blobs", "_bytea"),
        column("t", "text"),
    ];
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    let mut rows = vec![vec![
        base64(b"ana@example.com"),
        json!([
            base64(b"\x00\x01 cpf 52998224725 \xff\xfe"),
            base64(png),
            null
        ]),
        base64(b"ana@example.com"),
    ]];
    let mut counts = MaskedCounts::default();
    engine.mask_rows(&columns, &mut rows, &mut counts);
    assert_eq!(rows[0][0], "***@***.***");
    assert_eq!(rows[0][1], json!(["***.***.***-**", base64(png), null]));
    // A text column's base64 is only text.
    assert_eq!(rows[0][2], base64(b"ana@example.com"));
    assert_eq!(
        (counts.by_pattern["email"], counts.by_pattern["cpf"]),
        (1, 1)
    );
}

#[test]
fn latin1_bytes_are_read_as_latin1() {
    let engine = builtins_only(Builtins::default());
    let columns = [column("b", "bytea")];
    // "joão@exemplo.com.br" in Latin-1; a request holding a header. The whole value goes.
    let mut rows = vec![
        vec![base64(b"jo\xe3o@exemplo.com.br")],
        vec![base64(
            b"GET / HTTP/1.1\r\nAuthorization: Bearer abc123def456\r\n",
        )],
    ];
    let mut counts = MaskedCounts::default();
    engine.mask_rows(&columns, &mut rows, &mut counts);
    assert_eq!(
        rows,
        vec![
            vec![json!("***@***.***")],
            vec![json!("Authorization: Bearer [token]")]
        ]
    );
}

#[test]
fn extended_json_binaries_are_scanned_as_bytes() {
    let engine = defaults();
    let binary = |bytes: &[u8]| json!({"$binary": {"base64": base64(bytes), "subType": "00"}});
    let legacy = json!({"$binary": base64(b"ana@example.com"), "$type": "00"});
    let (value, counts) = masked_value(
        &engine,
        json!({"avatar": binary(b"\x89PNG"), "note": binary(b"mail ana@example.com"),
               "old": legacy, "deep": [{"x": binary(b"4111111111111111")}]}),
    );
    assert_eq!(value["avatar"], binary(b"\x89PNG"));
    assert_eq!(value["note"], "***@***.***");
    assert_eq!(value["old"], "***@***.***");
    assert_eq!(value["deep"][0]["x"], "[card]");
    assert_eq!(counts.total, 3);
    // A look-alike with more in it than bytes has that scanned too.
    let (value, _) = masked_value(
        &engine,
        json!({"$binary": {"base64": base64(b"x"), "subType": "00", "note": "ana@example.com"}}),
    );
    assert_eq!(value["$binary"]["note"], "***@***.***");
}

#[test]
fn records_sent_as_text_are_scanned_whole_with_their_hex_bytes() {
    let engine = defaults();
    let email_hex = "616e61406578616d706c652e636f6d";
    let record = format!(
        r#"(1,"Ana","ana@example.com",52998224725,"\\x{email_hex}","[""2024-01-01"",""2024-02-01"")")"#
    );
    let (masked, counts) = mask(&engine, &record);
    assert_eq!(
        masked,
        r#"(1,"Ana","***@***.***",***.***.***-**,"\***@***.***","[""2024-01-01"",""2024-02-01"")")"#
    );
    assert_eq!(counts.by_pattern["email"], 2);
    // Arrays of records double the backslashes; ranges are text too.
    let nested = format!(r#"{{"(1,\"\\\\x{email_hex}\")"}}"#);
    assert!(!mask(&engine, &nested).0.contains(email_hex));
    let range = "[52998224725,52998224726)";
    assert_eq!(mask(&engine, range).0, "[***.***.***-**,52998224726)");
    // Hex bytes without anything in them stay.
    let clean = r#"(1,"\\xdeadbeefcafe")"#;
    assert_eq!(mask(&engine, clean).0, clean);
}
