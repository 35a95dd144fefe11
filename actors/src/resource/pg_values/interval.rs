//! Decoder for `interval`, rendered as PostgreSQL's `iso_8601` IntervalStyle prints it.

use super::bytes::{Malformed, Reader};
use super::datetime::{push_fraction, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};
use serde_json::Value;

/// The binary value is microseconds, then days, then months; each part keeps its own sign.
pub(super) fn interval(raw: &[u8]) -> Result<Value, Malformed> {
    let mut reader = Reader::new(raw);
    let micros = reader.i64()?;
    let days = reader.i32()?;
    let months = reader.i32()?;
    reader.finish()?;
    // PostgreSQL 17 encodes infinite intervals as every field at its extreme.
    let text = match (micros, days, months) {
        (i64::MAX, i32::MAX, i32::MAX) => "infinity".to_owned(),
        (i64::MIN, i32::MIN, i32::MIN) => "-infinity".to_owned(),
        _ => iso_8601(micros, days, months),
    };
    Ok(Value::String(text))
}

/// Mirrors `EncodeInterval` for `INTSTYLE_ISO_8601`: truncating division splits months into
/// years and microseconds into hours, minutes and seconds, so every part keeps its field's sign,
/// and zero parts are left out ("PT0S" when all are zero).
fn iso_8601(micros: i64, days: i32, months: i32) -> String {
    let years = months / 12;
    let months = months % 12;
    let hours = micros / MICROS_PER_HOUR;
    let minutes = micros % MICROS_PER_HOUR / MICROS_PER_MINUTE;
    let second_micros = micros % MICROS_PER_MINUTE;
    if years == 0 && months == 0 && days == 0 && micros == 0 {
        return "PT0S".to_owned();
    }
    let mut out = String::from("P");
    push_part(&mut out, i64::from(years), 'Y');
    push_part(&mut out, i64::from(months), 'M');
    push_part(&mut out, i64::from(days), 'D');
    if micros != 0 {
        out.push('T');
    }
    push_part(&mut out, hours, 'H');
    push_part(&mut out, minutes, 'M');
    if second_micros != 0 {
        if second_micros < 0 {
            out.push('-');
        }
        out.push_str(
            &(second_micros / MICROS_PER_SECOND)
                .unsigned_abs()
                .to_string(),
        );
        push_fraction(&mut out, second_micros % MICROS_PER_SECOND);
        out.push('S');
    }
    out
}

fn push_part(out: &mut String, value: i64, unit: char) {
    if value != 0 {
        out.push_str(&value.to_string());
        out.push(unit);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(micros: i64, days: i32, months: i32) -> Vec<u8> {
        let mut out = micros.to_be_bytes().to_vec();
        out.extend(days.to_be_bytes());
        out.extend(months.to_be_bytes());
        out
    }

    fn text_of(micros: i64, days: i32, months: i32) -> Value {
        interval(&encode(micros, days, months)).unwrap()
    }

    #[test]
    fn matches_postgres_iso_8601_output() {
        // Bytes from interval_send, text from `SET intervalstyle = iso_8601` on PostgreSQL 15.
        let mixed = b"\x00\x00\x00\x03\x6c\x93\x61\xa0\x00\x00\x00\x03\x00\x00\x00\x0e";
        assert_eq!(interval(mixed), Ok(json!("P1Y2M3DT4H5M6.5S")));
        let negative = b"\xff\xff\xff\xfc\xb7\x2f\xe4\x60\x00\x00\x00\x03\xff\xff\xff\xf2";
        assert_eq!(interval(negative), Ok(json!("P-1Y-2M3DT-3H-55M-6.5S")));
        assert_eq!(text_of(-500_000, 0, 0), json!("PT-0.5S"));
        assert_eq!(text_of(0, 0, 11), json!("P11M"));
        assert_eq!(text_of(0, 0, -11), json!("P-11M"));
    }

    #[test]
    fn zero_and_single_parts() {
        assert_eq!(text_of(0, 0, 0), json!("PT0S"));
        assert_eq!(text_of(0, 1, 0), json!("P1D"));
        assert_eq!(text_of(MICROS_PER_HOUR, 0, 0), json!("PT1H"));
        assert_eq!(
            text_of(90 * MICROS_PER_MINUTE, -2, 24),
            json!("P2Y-2DT1H30M")
        );
        assert_eq!(text_of(1, 0, 0), json!("PT0.000001S"));
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert_eq!(text_of(i64::MAX, i32::MAX, i32::MAX), json!("infinity"));
        assert_eq!(text_of(i64::MIN, i32::MIN, i32::MIN), json!("-infinity"));
        assert_eq!(
            text_of(i64::MIN, i32::MIN, 0),
            json!("P-2147483648DT-2562047788H-54.775808S")
        );
        assert_eq!(
            text_of(i64::MAX, 0, i32::MIN),
            json!("P-178956970Y-8MT2562047788H54.775807S")
        );
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert!(interval(&encode(0, 0, 0)[..15]).is_err());
        assert!(interval(&[0; 17]).is_err());
    }
}
