//! Decoder for `numeric`: renders the exact decimal text PostgreSQL prints, as a JSON string.
//!
//! The binary value is a header (digit count, weight, sign, display scale) followed by base-10000
//! digits; the value is the sum of `digit[i] * 10000^(weight - i)`. Text keeps every digit, which a
//! JSON number (f64 in most readers) could not.

use super::bytes::{Malformed, Reader, TRAILING_BYTES, TRUNCATED};
use serde_json::Value;

const SIGN_POSITIVE: u16 = 0x0000;
const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PLUS_INFINITY: u16 = 0xD000;
const SIGN_MINUS_INFINITY: u16 = 0xF000;
/// numeric_recv rejects display scales with bits outside this mask.
const DISPLAY_SCALE_MASK: u16 = 0x3FFF;
const BASE: u16 = 10_000;

pub(super) fn numeric(raw: &[u8]) -> Result<Value, Malformed> {
    let mut reader = Reader::new(raw);
    let digit_count =
        usize::try_from(reader.i16()?).map_err(|_| Malformed("negative digit count"))?;
    let weight = reader.i16()?;
    let sign = reader.u16()?;
    let display_scale = reader.u16()?;
    if display_scale & !DISPLAY_SCALE_MASK != 0 {
        return Err(Malformed("invalid display scale"));
    }
    let digits = read_digits(&mut reader, digit_count)?;
    let text = match sign {
        SIGN_NAN => "NaN".to_owned(),
        SIGN_PLUS_INFINITY => "Infinity".to_owned(),
        SIGN_MINUS_INFINITY => "-Infinity".to_owned(),
        SIGN_POSITIVE | SIGN_NEGATIVE => {
            decimal_text(sign == SIGN_NEGATIVE, weight, display_scale, &digits)
        }
        _ => return Err(Malformed("invalid sign")),
    };
    Ok(Value::String(text))
}

fn read_digits(reader: &mut Reader<'_>, digit_count: usize) -> Result<Vec<u16>, Malformed> {
    // Check the length before collecting so a forged count cannot drive the allocation.
    match reader.remaining().cmp(&(digit_count * 2)) {
        std::cmp::Ordering::Less => return Err(TRUNCATED),
        std::cmp::Ordering::Greater => return Err(TRAILING_BYTES),
        std::cmp::Ordering::Equal => {}
    }
    (0..digit_count)
        .map(|_| {
            let digit = reader.u16()?;
            if digit < BASE {
                Ok(digit)
            } else {
                Err(Malformed("digit out of range"))
            }
        })
        .collect()
}

/// Mirrors PostgreSQL's `get_str_from_var`: the integer part is every group up to `weight`
/// (missing groups are zero), then exactly `display_scale` fractional decimal digits.
fn decimal_text(negative: bool, weight: i16, display_scale: u16, digits: &[u16]) -> String {
    let group_at = |index: i32| -> u16 {
        usize::try_from(index)
            .ok()
            .and_then(|index| digits.get(index))
            .copied()
            .unwrap_or(0)
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        // The first group is printed without leading zeros, the rest padded to four digits.
        out.push_str(&group_at(0).to_string());
        for index in 1..=i32::from(weight) {
            push_padded_group(&mut out, group_at(index));
        }
    }
    if display_scale > 0 {
        out.push('.');
        let fraction_start = out.len();
        let mut index = i32::from(weight) + 1;
        while out.len() - fraction_start < usize::from(display_scale) {
            push_padded_group(&mut out, group_at(index));
            index += 1;
        }
        out.truncate(fraction_start + usize::from(display_scale));
    }
    out
}

fn push_padded_group(out: &mut String, group: u16) {
    for divisor in [1000, 100, 10, 1] {
        out.push(char::from_digit(u32::from(group / divisor % 10), 10).unwrap_or('0'));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Builds the binary form from its fields, as numeric_send would.
    fn encode(weight: i16, sign: u16, display_scale: u16, digits: &[u16]) -> Vec<u8> {
        let count = i16::try_from(digits.len()).unwrap();
        let mut out = Vec::new();
        out.extend(count.to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(display_scale.to_be_bytes());
        digits
            .iter()
            .for_each(|digit| out.extend(digit.to_be_bytes()));
        out
    }

    fn text_of(raw: &[u8]) -> String {
        match numeric(raw) {
            Ok(Value::String(text)) => text,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn matches_bytes_captured_from_numeric_send() {
        // Each pair is `numeric_send(x)` from PostgreSQL 15 and how it prints x.
        let cases: [(&[u8], &str); 10] = [
            (b"\x00\x02\x00\x00\x00\x00\x00\x02\x00\x01\x13\x88", "1.50"),
            (b"\x00\x00\x00\x00\x00\x00\x00\x02", "0.00"),
            (b"\x00\x00\x00\x00\x00\x00\x00\x00", "0"),
            (
                b"\x00\x02\x00\x00\x40\x00\x00\x03\x00\x0c\x0d\x7a",
                "-12.345",
            ),
            (
                b"\x00\x01\x00\x07\x00\x00\x00\x00\x00\x64",
                "1000000000000000000000000000000",
            ),
            (b"\x00\x01\xff\xff\x00\x00\x00\x04\x00\x01", "0.0001"),
            (
                b"\x00\x01\xff\xfb\x00\x00\x00\x14\x00\x01",
                "0.00000000000000000001",
            ),
            (
                b"\x00\x05\x00\x02\x00\x00\x00\x06\x00\x01\x09\x29\x1a\x85\x00\x00\x00\x64",
                "123456789.000001",
            ),
            (b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x01", "10000"),
            (b"\x00\x01\xff\xff\x40\x00\x00\x03\x13\x88", "-0.500"),
        ];
        for (raw, expected) in cases {
            assert_eq!(text_of(raw), expected);
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(text_of(b"\x00\x00\x00\x00\xc0\x00\x00\x00"), "NaN");
        assert_eq!(text_of(b"\x00\x00\x00\x00\xd0\x00\x00\x20"), "Infinity");
        assert_eq!(text_of(b"\x00\x00\x00\x00\xf0\x00\x00\x20"), "-Infinity");
    }

    #[test]
    fn display_scale_pads_and_truncates_fraction() {
        // 7.5 shown with scale 3; and a stored digit beyond the scale is cut off.
        assert_eq!(text_of(&encode(0, SIGN_POSITIVE, 3, &[7, 5000])), "7.500");
        assert_eq!(text_of(&encode(0, SIGN_POSITIVE, 1, &[7, 5678])), "7.5");
        assert_eq!(text_of(&encode(1, SIGN_NEGATIVE, 0, &[12])), "-120000");
        assert_eq!(text_of(&encode(-2, SIGN_POSITIVE, 9, &[12])), "0.000000120");
    }

    #[test]
    fn malformed_headers_and_digits_are_errors() {
        assert_eq!(numeric(&[0, 1, 0, 0]), Err(TRUNCATED));
        assert_eq!(
            numeric(&encode(0, SIGN_POSITIVE, 0, &[1])[..9]),
            Err(TRUNCATED)
        );
        let mut extra = encode(0, SIGN_POSITIVE, 0, &[1]);
        extra.push(0);
        assert_eq!(numeric(&extra), Err(TRAILING_BYTES));
        assert_eq!(
            numeric(&encode(0, SIGN_POSITIVE, 0, &[10_000])),
            Err(Malformed("digit out of range"))
        );
        assert_eq!(
            numeric(&encode(0, 0x1234, 0, &[1])),
            Err(Malformed("invalid sign"))
        );
        assert_eq!(
            numeric(&encode(0, SIGN_POSITIVE, 0x8000, &[1])),
            Err(Malformed("invalid display scale"))
        );
        assert_eq!(
            numeric(b"\xff\xff\x00\x00\x00\x00\x00\x00"),
            Err(Malformed("negative digit count"))
        );
    }

    #[test]
    fn extreme_weights_stay_bounded() {
        let huge = text_of(&encode(i16::MAX, SIGN_POSITIVE, 0, &[1]));
        assert_eq!(huge.len(), 1 + 4 * usize::try_from(i16::MAX).unwrap());
        let tiny = text_of(&encode(i16::MIN, SIGN_POSITIVE, DISPLAY_SCALE_MASK, &[1]));
        assert_eq!(tiny.len(), 2 + usize::from(DISPLAY_SCALE_MASK));
    }
}
