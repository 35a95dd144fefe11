//! Decoders for the simple binary formats: booleans, integers, floats, text, uuid and bytea.

use super::bytes::{exact, Malformed};
use crate::digits::push_hex_byte;
use base64::Engine as _;
use serde_json::{Number, Value};

pub(super) fn boolean(raw: &[u8]) -> Result<Value, Malformed> {
    // boolrecv treats any non-zero byte as true.
    let [byte] = exact::<1>(raw)?;
    Ok(Value::Bool(byte != 0))
}

pub(super) fn int2(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::from(i16::from_be_bytes(exact(raw)?)))
}

pub(super) fn int4(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::from(i32::from_be_bytes(exact(raw)?)))
}

pub(super) fn int8(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::from(i64::from_be_bytes(exact(raw)?)))
}

pub(super) fn oid(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::from(u32::from_be_bytes(exact(raw)?)))
}

pub(super) fn float4(raw: &[u8]) -> Result<Value, Malformed> {
    let value = f32::from_be_bytes(exact(raw)?);
    // Widening with `as f64` would print 0.1f32 as 0.10000000149011612; going through the
    // shortest decimal text of the f32 keeps the digits PostgreSQL itself would print.
    let widened = value.to_string().parse::<f64>().unwrap_or(f64::from(value));
    Ok(float_json(widened))
}

pub(super) fn float8(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(float_json(f64::from_be_bytes(exact(raw)?)))
}

/// JSON has no NaN or infinities, so those become PostgreSQL's spellings as strings.
fn float_json(value: f64) -> Value {
    match Number::from_f64(value) {
        Some(number) => Value::Number(number),
        None if value.is_nan() => Value::from("NaN"),
        None if value > 0.0 => Value::from("Infinity"),
        None => Value::from("-Infinity"),
    }
}

pub(super) fn text(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::String(utf8(raw)?.to_owned()))
}

/// Why text is malformed: its bytes are not UTF-8.
pub(super) const INVALID_UTF8: &str = "invalid utf-8";

fn utf8(raw: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(raw).map_err(|_| Malformed(INVALID_UTF8))
}

/// The one-byte `"char"` type: a zero byte is the empty string, and bytes outside ASCII are
/// printed as a backslash and three octal digits, as PostgreSQL 15's `charout` does.
pub(super) fn one_byte_char(raw: &[u8]) -> Result<Value, Malformed> {
    let [byte] = exact::<1>(raw)?;
    Ok(Value::String(match byte {
        0 => String::new(),
        1..=0x7f => char::from(byte).to_string(),
        _ => format!("\\{byte:03o}"),
    }))
}

pub(super) fn uuid(raw: &[u8]) -> Result<Value, Malformed> {
    let bytes = exact::<16>(raw)?;
    let mut out = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        push_hex_byte(&mut out, *byte);
    }
    Ok(Value::String(out))
}

/// bytea becomes a plain standard (RFC 4648, padded) base64 string with no prefix.
pub(super) fn bytea(raw: &[u8]) -> Result<Value, Malformed> {
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(raw),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_and_integers() {
        assert_eq!(boolean(&[1]), Ok(json!(true)));
        assert_eq!(boolean(&[0]), Ok(json!(false)));
        assert_eq!(int2(&(-2i16).to_be_bytes()), Ok(json!(-2)));
        assert_eq!(int4(&i32::MIN.to_be_bytes()), Ok(json!(i32::MIN)));
        assert_eq!(
            int8(&i64::MAX.to_be_bytes()),
            Ok(json!(9_223_372_036_854_775_807i64))
        );
        assert_eq!(oid(&u32::MAX.to_be_bytes()), Ok(json!(4_294_967_295u32)));
        assert!(int4(&[0, 0, 1]).is_err());
        assert!(int8(&[0; 9]).is_err());
        assert!(boolean(&[]).is_err());
    }

    #[test]
    fn floats_keep_short_digits_and_spell_out_special_values() {
        assert_eq!(float4(&0.1f32.to_be_bytes()), Ok(json!(0.1)));
        assert_eq!(float8(&(-2.5f64).to_be_bytes()), Ok(json!(-2.5)));
        assert_eq!(float8(&f64::NAN.to_be_bytes()), Ok(json!("NaN")));
        assert_eq!(float8(&f64::INFINITY.to_be_bytes()), Ok(json!("Infinity")));
        assert_eq!(
            float4(&f32::NEG_INFINITY.to_be_bytes()),
            Ok(json!("-Infinity"))
        );
        assert_eq!(float4(&f32::NAN.to_be_bytes()), Ok(json!("NaN")));
        assert!(float8(&[0; 4]).is_err());
    }

    #[test]
    fn text_requires_utf8() {
        assert_eq!(text("héllo".as_bytes()), Ok(json!("héllo")));
        assert_eq!(text(b""), Ok(json!("")));
        assert_eq!(text(&[0xff, 0xfe]), Err(Malformed("invalid utf-8")));
    }

    #[test]
    fn single_byte_char() {
        assert_eq!(one_byte_char(b"a"), Ok(json!("a")));
        assert_eq!(one_byte_char(&[0]), Ok(json!("")));
        assert_eq!(one_byte_char(&[0xc3]), Ok(json!("\\303")));
        assert!(one_byte_char(b"ab").is_err());
    }

    #[test]
    fn uuid_is_lowercase_and_hyphenated() {
        let bytes = [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        assert_eq!(
            uuid(&bytes),
            Ok(json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
        );
        assert!(uuid(&bytes[..15]).is_err());
    }

    #[test]
    fn bytea_is_standard_base64() {
        assert_eq!(
            bytea(&[0xde, 0xad, 0xbe, 0xef, 0xff]),
            Ok(json!("3q2+7/8="))
        );
        assert_eq!(bytea(&[]), Ok(json!("")));
    }
}
