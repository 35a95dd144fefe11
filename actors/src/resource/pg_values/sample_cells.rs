//! Test-only: one valid binary encoding per decodable type, and fuzz-like no-panic tests over them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::decode;
use ::postgres::types::Type;
use serde_json::{json, Value};

/// A type, a value's bytes as PostgreSQL sends them, and the JSON it decodes to.
pub(super) type Sample = (Type, Vec<u8>, Value);

/// One sample for every type `decode` supports.
pub(super) fn valid_samples() -> Vec<Sample> {
    [
        number_and_text_samples(),
        date_and_time_samples(),
        structured_samples(),
    ]
    .concat()
}

fn sample(ty: Type, raw: &[u8], expected: Value) -> Sample {
    (ty, raw.to_vec(), expected)
}

/// Numbers, text types, "char" and uuid.
fn number_and_text_samples() -> Vec<Sample> {
    vec![
        sample(Type::BOOL, &[1], json!(true)),
        sample(Type::INT2, &[0xff, 0xfe], json!(-2)),
        sample(Type::INT4, &[0, 0, 1, 0], json!(256)),
        sample(Type::INT8, &[0x80, 0, 0, 0, 0, 0, 0, 0], json!(i64::MIN)),
        sample(Type::OID, &[0, 0, 0, 23], json!(23)),
        sample(Type::FLOAT4, &1.5f32.to_be_bytes(), json!(1.5)),
        sample(
            Type::FLOAT8,
            &f64::NEG_INFINITY.to_be_bytes(),
            json!("-Infinity"),
        ),
        sample(
            Type::NUMERIC,
            b"\x00\x02\x00\x00\x40\x00\x00\x03\x00\x0c\x0d\x7a",
            json!("-12.345"),
        ),
        sample(Type::TEXT, "snø".as_bytes(), json!("snø")),
        sample(Type::VARCHAR, b"v", json!("v")),
        sample(Type::BPCHAR, b"ab  ", json!("ab  ")),
        sample(Type::NAME, b"pg_class", json!("pg_class")),
        sample(Type::CHAR, b"r", json!("r")),
        sample(Type::XML, b"<a/>", json!("<a/>")),
        sample(
            Type::UUID,
            &[0x11; 16],
            json!("11111111-1111-1111-1111-111111111111"),
        ),
    ]
}

/// Dates, times, timestamps and intervals.
fn date_and_time_samples() -> Vec<Sample> {
    vec![
        sample(Type::DATE, &[0, 0, 0x22, 0x79], json!("2024-02-29")),
        sample(
            Type::TIME,
            &37_800_000_000i64.to_be_bytes(),
            json!("10:30:00"),
        ),
        sample(
            Type::TIMETZ,
            b"\x00\x00\x00\x08\xcd\x0e\x3a\x00\xff\xff\xe3\xe0",
            json!("10:30:00+02:00"),
        ),
        sample(
            Type::TIMESTAMP,
            b"\x00\x02\xb1\xf8\x43\xc0\x9c\x40",
            json!("2024-01-15T10:30:00.123456"),
        ),
        sample(
            Type::TIMESTAMPTZ,
            b"\x00\x02\xb1\xf8\x43\xbe\xba\x00",
            json!("2024-01-15T10:30:00Z"),
        ),
        sample(
            Type::INTERVAL,
            b"\x00\x00\x00\x03\x6c\x93\x61\xa0\x00\x00\x00\x03\x00\x00\x00\x0e",
            json!("P1Y2M3DT4H5M6.5S"),
        ),
    ]
}

/// json, bytea, network addresses and arrays.
fn structured_samples() -> Vec<Sample> {
    vec![
        sample(Type::JSON, br#"{"a":1}"#, json!({"a": 1})),
        sample(Type::JSONB, b"\x01[true]", json!([true])),
        sample(Type::BYTEA, b"\x00\xff", json!("AP8=")),
        sample(
            Type::INET,
            b"\x02\x18\x00\x04\x01\x02\x03\x04",
            json!("1.2.3.4/24"),
        ),
        sample(
            Type::CIDR,
            b"\x03\x20\x01\x10\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0",
            json!("2001:db8::/32"),
        ),
        sample(
            Type::MACADDR,
            b"\x08\x00\x2b\x01\x02\x03",
            json!("08:00:2b:01:02:03"),
        ),
        sample(
            Type::MACADDR8,
            b"\x08\x00\x2b\x01\x02\x03\x04\x05",
            json!("08:00:2b:01:02:03:04:05"),
        ),
        sample(
            Type::INT4_ARRAY,
            b"\0\0\0\x02\0\0\0\x01\0\0\0\x17\0\0\0\x02\0\0\0\x01\0\0\0\x02\0\0\0\x01\
              \0\0\0\x04\0\0\0\x01\xff\xff\xff\xff\0\0\0\x04\0\0\0\x03\xff\xff\xff\xff",
            json!([[1, null], [3, null]]),
        ),
        sample(
            Type::TEXT_ARRAY,
            b"\0\0\0\x01\0\0\0\x01\0\0\0\x19\0\0\0\x02\0\0\0\x01\0\0\0\x01a\xff\xff\xff\xff",
            json!(["a", null]),
        ),
        sample(
            Type::NUMERIC_ARRAY,
            b"\0\0\0\x01\0\0\0\0\0\0\x06\xa4\0\0\0\x01\0\0\0\x01\0\0\0\x08\0\0\0\0\xc0\0\0\0",
            json!(["NaN"]),
        ),
    ]
}

/// Decoding must return (Ok or Err) rather than panic; a panic fails the calling test.
fn decode_without_panicking(ty: &Type, raw: &[u8]) {
    let _ = decode(ty, Some(raw));
}

#[test]
fn every_prefix_of_a_valid_encoding_is_handled() {
    for (ty, raw, _) in valid_samples() {
        for end in 0..raw.len() {
            decode_without_panicking(&ty, &raw[..end]);
        }
    }
}

#[test]
fn truncating_fixed_layouts_is_an_error() {
    // Text, bytea and json have valid shorter forms (json text that does not parse is kept as a
    // string); every other layout is fixed or length-prefixed.
    let variable_length = [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::XML,
        Type::BYTEA,
        Type::JSON,
        Type::JSONB,
    ];
    for (ty, raw, _) in valid_samples() {
        if variable_length.contains(&ty) {
            continue;
        }
        for end in 0..raw.len() {
            assert!(
                decode(&ty, Some(&raw[..end])).is_err(),
                "{ty} accepted {:?}",
                &raw[..end]
            );
        }
    }
}

#[test]
fn mutated_and_extended_encodings_are_handled() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for (ty, raw, _) in valid_samples() {
        for _ in 0..2_000 {
            let mut mutated = raw.clone();
            let flips = rng.usize(1..4);
            for _ in 0..flips {
                if let Some(byte) = mutated.get_mut(rng.usize(0..raw.len().max(1))) {
                    *byte = rng.u8(..);
                }
            }
            if rng.bool() {
                let extra = rng.usize(0..8);
                mutated.extend(std::iter::repeat_with(|| rng.u8(..)).take(extra));
            }
            decode_without_panicking(&ty, &mutated);
        }
    }
}

#[test]
fn random_bytes_are_handled() {
    let mut rng = fastrand::Rng::with_seed(42);
    for (ty, _, _) in valid_samples() {
        for _ in 0..2_000 {
            let length = rng.usize(0..64);
            let raw: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(length).collect();
            decode_without_panicking(&ty, &raw);
        }
    }
}

#[test]
fn forged_array_headers_with_huge_counts_are_errors() {
    let mut header = Vec::new();
    for field in [2i32, 0, 23, i32::MAX, 1, i32::MAX, 1] {
        header.extend(field.to_be_bytes());
    }
    assert!(decode(&Type::INT4_ARRAY, Some(&header)).is_err());
    let numeric = b"\x7f\xff\x7f\xff\x00\x00\x3f\xff";
    assert!(decode(&Type::NUMERIC, Some(numeric)).is_err());
}
