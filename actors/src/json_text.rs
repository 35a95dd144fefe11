//! JSON text written straight into a `String`, byte for byte what `serde_json` writes: a result's
//! rows are built as text, and writing them through `io::Write` into bytes would mean checking
//! the whole answer for UTF-8 again before it can be sent.

use crate::digits::{decimal, push_hex_byte};
use serde_json::Value;

/// How `serde_json` escapes a byte inside a string: 0 for none, `u` for `\u00XX`, else the
/// letter after the backslash.
const fn escape_of(byte: u8) -> u8 {
    match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0c => b'f',
        b'\r' => b'r',
        0x00..=0x1f => b'u',
        _ => 0,
    }
}

static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = escape_of(byte as u8);
        byte += 1;
    }
    table
};

/// Appends `text` as a JSON string.
pub fn push_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut copied_up_to = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = ESCAPES[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        // Every escaped byte is ASCII, so `index` is a character boundary.
        out.push_str(&text[copied_up_to..index]);
        out.push('\\');
        if escape == b'u' {
            out.push_str("u00");
            push_hex_byte(out, byte);
        } else {
            out.push(char::from(escape));
        }
        copied_up_to = index + 1;
    }
    out.push_str(&text[copied_up_to..]);
    out.push('"');
}

/// Integers in decimal (one way to write them); anything else as `serde_json` writes it.
fn push_number(out: &mut String, number: &serde_json::Number) -> Result<(), serde_json::Error> {
    let mut digits = [0u8; 20];
    if let Some(whole) = number.as_u64() {
        out.push_str(decimal(whole, &mut digits));
    } else if let Some(negative) = number.as_i64() {
        out.push('-');
        out.push_str(decimal(negative.unsigned_abs(), &mut digits));
    } else {
        out.push_str(&serde_json::to_string(number)?);
    }
    Ok(())
}

/// Appends `value` as JSON: strings and integers directly, floats, arrays and objects through
/// `serde_json`.
pub fn push_value(out: &mut String, value: &Value) -> Result<(), serde_json::Error> {
    match value {
        Value::String(text) => push_string(out, text),
        Value::Number(number) => push_number(out, number)?,
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
        Value::Array(_) | Value::Object(_) => out.push_str(&serde_json::to_string(value)?),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn written(value: &Value) -> String {
        let mut out = String::new();
        push_value(&mut out, value).unwrap();
        out
    }

    #[test]
    fn every_ascii_character_is_escaped_as_serde_json_escapes_it() {
        for byte in 0u8..=0x7f {
            let text = format!("a{}b", char::from(byte));
            let value = json!(text);
            assert_eq!(written(&value), value.to_string(), "byte {byte:#x}");
        }
    }

    #[test]
    fn numbers_and_literals_are_written_as_serde_json_writes_them() {
        for value in [
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(i64::MIN + 1),
            json!(-0.0),
            json!(0.1),
            json!(-2.5e-300),
            json!(1e300),
            json!(52998224725.0),
            json!(true),
            json!(false),
            json!(null),
            json!([1, "x\n", {"k": [null]}]),
            json!({"b": 1, "a": "\u{7f}\u{2028}é"}),
        ] {
            assert_eq!(written(&value), value.to_string());
        }
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in any::<String>()) {
            let value = Value::String(text);
            prop_assert_eq!(written(&value), value.to_string());
        }

        #[test]
        fn any_float_is_written_as_serde_json_writes_it(number in any::<f64>()) {
            let value = json!(number);
            prop_assert_eq!(written(&value), value.to_string());
        }
    }
}
