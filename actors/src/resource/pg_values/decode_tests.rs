//! Tests of decoding cells to JSON: every type, the budget, and the approximate size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use ::postgres::types::Field;
use serde_json::json;

fn custom_type(name: &str, kind: Kind) -> Type {
    Type::new(name.to_owned(), 90_000, kind, "public".to_owned())
}

#[test]
fn raw_cell_accepts_every_type_and_keeps_bytes() {
    assert!(<RawCell<'_> as FromSql<'_>>::accepts(&Type::POINT));
    assert_eq!(
        RawCell::from_sql(&Type::MONEY, b"\x01\x02").unwrap().0,
        Some(&b"\x01\x02"[..])
    );
    assert_eq!(RawCell::from_sql_null(&Type::INT4).unwrap().0, None);
}

#[test]
fn oid_literals_match_the_crate_constants() {
    let builtins = [
        Type::BOOL,
        Type::BYTEA,
        Type::CHAR,
        Type::NAME,
        Type::TEXT,
        Type::XML,
        Type::BPCHAR,
        Type::VARCHAR,
        Type::INT8,
        Type::INT2,
        Type::INT4,
        Type::OID,
        Type::JSON,
        Type::JSONB,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::NUMERIC,
        Type::UUID,
        Type::DATE,
        Type::TIME,
        Type::TIMETZ,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
        Type::INTERVAL,
        Type::INET,
        Type::CIDR,
        Type::MACADDR,
        Type::MACADDR8,
    ];
    for ty in &builtins {
        assert!(scalar_decoder(ty.oid()).is_some(), "{ty}");
        assert!(decodes_binary(ty), "{ty}");
    }
    let decodable = (0..10_000)
        .filter(|&oid| scalar_decoder(oid).is_some())
        .count();
    assert_eq!(decodable, builtins.len());
}

#[test]
fn other_types_must_be_fetched_as_text() {
    let composite = custom_type(
        "pair",
        Kind::Composite(vec![Field::new("a".into(), Type::INT4)]),
    );
    let unsupported = [
        Type::POINT,
        Type::MONEY,
        Type::TS_VECTOR,
        Type::INT4_RANGE,
        Type::BIT,
        Type::VARBIT,
        Type::RECORD,
        Type::POINT_ARRAY,
        Type::UNKNOWN,
        Type::VOID,
        Type::INT4MULTI_RANGE,
        composite.clone(),
        custom_type("_pair", Kind::Array(composite)),
        custom_type("citext", Kind::Simple),
    ];
    for ty in &unsupported {
        assert!(!decodes_binary(ty), "{ty}");
        assert_eq!(
            decode(ty, Some(b"x")),
            Err(DecodeError::Unsupported(ty.name().to_owned()))
        );
        assert_eq!(decode(ty, None), Ok(Value::Null));
    }
    assert_eq!(
        DecodeError::Unsupported("point".into()).to_string(),
        "no binary decoder for type point"
    );
}

#[test]
fn every_sample_decodes_and_null_is_null() {
    for (ty, raw, expected) in sample_cells::valid_samples() {
        assert!(decodes_binary(&ty), "{ty}");
        assert_eq!(decode(&ty, Some(&raw)), Ok(expected), "{ty}");
        assert_eq!(decode(&ty, None), Ok(Value::Null), "{ty}");
    }
}

#[test]
fn enums_and_domains_decode_through_their_base() {
    let mood = custom_type("mood", Kind::Enum(vec!["happy".into()]));
    assert_eq!(decode(&mood, Some(b"happy")), Ok(json!("happy")));
    let positive = custom_type("positive", Kind::Domain(Type::INT4));
    assert_eq!(decode(&positive, Some(&7i32.to_be_bytes())), Ok(json!(7)));
    let moods = custom_type("_mood", Kind::Array(mood));
    let raw = b"\0\0\0\x01\0\0\0\0\0\x01\x5f\x90\0\0\0\x01\0\0\0\x01\0\0\0\x05happy";
    assert_eq!(decode(&moods, Some(raw)), Ok(json!(["happy"])));
    let over_array = custom_type("int_list", Kind::Domain(Type::INT4_ARRAY));
    assert!(decodes_binary(&over_array));
    let over_point = custom_type("spot", Kind::Domain(Type::POINT));
    assert!(!decodes_binary(&over_point));
}

#[test]
fn errors_name_the_type_in_lowercase() {
    let error = decode(&Type::INT4, Some(&[1])).unwrap_err();
    assert_eq!(error.to_string(), "malformed int4 value: truncated");
    let error = decode(&Type::TEXT, Some(&[0xff])).unwrap_err();
    assert_eq!(error.to_string(), "malformed text value: invalid utf-8");
}

#[test]
fn json_and_jsonb_parse_or_fall_back_to_text() {
    let json_cell = |raw: &[u8]| decode(&Type::JSON, Some(raw));
    let jsonb_cell = |raw: &[u8]| decode(&Type::JSONB, Some(raw));
    assert_eq!(
        json_cell(br#"{"a": [1, null]}"#),
        Ok(json!({"a": [1, null]}))
    );
    assert_eq!(jsonb_cell(b"\x01\"s\""), Ok(json!("s")));
    assert_eq!(json_cell(b"{not json"), Ok(json!("{not json")));
    let error = jsonb_cell(b"\x02{}").unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed jsonb value: unknown jsonb version"
    );
    assert!(jsonb_cell(b"").is_err());
    assert!(json_cell(&[0xff]).is_err());
}

#[test]
fn values_are_charged_before_they_are_built() {
    let limit = 100;
    let too_large = Err(DecodeError::TooLarge { limit });
    let long_text = vec![b'x'; 99];
    assert_eq!(
        decode_within(&Type::TEXT, Some(&long_text), &mut Budget::new(limit)),
        too_large
    );
    let bytes = vec![0u8; 75]; // 100 base64 digits
    assert_eq!(
        decode_within(&Type::BYTEA, Some(&bytes), &mut Budget::new(limit)),
        too_large
    );
    let mut budget = Budget::new(limit);
    assert_eq!(
        decode_within(&Type::TEXT, Some(b"abc"), &mut budget),
        Ok(json!("abc"))
    );
    assert_eq!(budget.used(), budget::VALUE_FLOOR);
    assert_eq!(
        decode_within(&Type::INT4, None, &mut budget),
        Ok(Value::Null)
    );
    assert_eq!(budget.used(), 2 * budget::VALUE_FLOOR);
    let expanding = format!("[{}0]", "0,".repeat(1000));
    let mut budget = Budget::new(limit);
    assert_eq!(
        decode_within(&Type::JSON, Some(expanding.as_bytes()), &mut budget),
        too_large
    );
    let not_json = vec![b'{'; 200];
    assert_eq!(
        decode_within(&Type::JSON, Some(&not_json), &mut Budget::new(limit)),
        too_large
    );
}

#[test]
fn approximate_size_counts_text_digits_and_separators() {
    assert_eq!(approximate_json_size(&json!(null)), 4);
    assert_eq!(approximate_json_size(&json!(false)), 5);
    assert_eq!(approximate_json_size(&json!("abc")), 5);
    assert_eq!(approximate_json_size(&json!(0)), 1);
    assert_eq!(approximate_json_size(&json!(-120)), 4);
    assert_eq!(approximate_json_size(&json!(u64::MAX)), 20);
    assert_eq!(approximate_json_size(&json!(i64::MIN)), 20);
    assert_eq!(approximate_json_size(&json!(0.5)), FLOAT_TEXT_MAX);
    assert_eq!(approximate_json_size(&json!([])), 2);
    assert_eq!(
        approximate_json_size(&json!([1, "ab", null])),
        2 + 1 + 4 + 4 + 2
    );
    assert_eq!(approximate_json_size(&json!({"k": [1]})), 2 + 4 + 3);
    let exact = json!({"a": [1, 22, "x"], "bb": {"c": null}, "d": true});
    assert_eq!(approximate_json_size(&exact), exact.to_string().len());
}

#[test]
fn approximate_size_survives_deep_nesting() {
    let mut deep = json!(1);
    for _ in 0..100_000 {
        deep = Value::Array(vec![deep]);
    }
    assert_eq!(approximate_json_size(&deep), 200_001);
    // Dropping a deeply nested Value recurses; unwrap it level by level instead.
    while let Value::Array(mut items) = deep {
        deep = items.pop().unwrap_or(Value::Null);
    }
}
