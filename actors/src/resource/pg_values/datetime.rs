//! Decoders for `date`, `time`, `timetz`, `timestamp` and `timestamptz`, rendered as ISO 8601 text.
//!
//! PostgreSQL counts days and microseconds from 2000-01-01 00:00:00. Years before 1 AD use
//! astronomical numbering as ISO 8601 does (0000 is 1 BC, -0001 is 2 BC) rather than a "BC" suffix.

use super::bytes::{exact, Malformed, Reader};
use crate::digits::decimal;
use serde_json::Value;

pub(super) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(super) const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub(super) const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// Days from the Unix epoch (1970-01-01) to PostgreSQL's (2000-01-01).
const POSTGRES_EPOCH_IN_UNIX_DAYS: i64 = 10_957;

pub(super) fn date(raw: &[u8]) -> Result<Value, Malformed> {
    let text = match i32::from_be_bytes(exact(raw)?) {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        days => date_text(i64::from(days)),
    };
    Ok(Value::String(text))
}

pub(super) fn time(raw: &[u8]) -> Result<Value, Malformed> {
    let micros = i64::from_be_bytes(exact(raw)?);
    let mut out = String::new();
    push_time_of_day(&mut out, micros)?;
    Ok(Value::String(out))
}

/// timetz carries the zone as seconds *west* of UTC, the opposite sign of the printed offset.
pub(super) fn timetz(raw: &[u8]) -> Result<Value, Malformed> {
    let mut reader = Reader::new(raw);
    let micros = reader.i64()?;
    let seconds_west = reader.i32()?;
    reader.finish()?;
    let mut out = String::new();
    push_time_of_day(&mut out, micros)?;
    push_utc_offset(&mut out, -i64::from(seconds_west));
    Ok(Value::String(out))
}

/// "2024-01-15T10:30:00.5", without an offset.
pub(super) fn timestamp(raw: &[u8]) -> Result<Value, Malformed> {
    timestamp_text(raw, "")
}

/// "2024-01-15T10:30:00.5Z": the binary value is always UTC, whatever the session's time zone.
pub(super) fn timestamptz(raw: &[u8]) -> Result<Value, Malformed> {
    timestamp_text(raw, "Z")
}

fn timestamp_text(raw: &[u8], suffix: &str) -> Result<Value, Malformed> {
    let micros = i64::from_be_bytes(exact(raw)?);
    let text = match micros {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        _ => {
            let mut out = date_text(micros.div_euclid(MICROS_PER_DAY));
            out.push('T');
            push_time_of_day(&mut out, micros.rem_euclid(MICROS_PER_DAY))?;
            out.push_str(suffix);
            out
        }
    };
    Ok(Value::String(text))
}

/// "YYYY-MM-DD" for a day counted from 2000-01-01.
fn date_text(days_since_2000: i64) -> String {
    let (year, month, day) = civil_from_days(days_since_2000 + POSTGRES_EPOCH_IN_UNIX_DAYS);
    let mut out = String::with_capacity(32);
    if year < 0 {
        out.push('-');
    }
    push_padded(&mut out, year.unsigned_abs(), 4);
    out.push('-');
    push_padded(&mut out, u64::from(month), 2);
    out.push('-');
    push_padded(&mut out, u64::from(day), 2);
    out
}

/// `value` in decimal, zero-padded to at least `width` digits: a result has a date or a time in
/// every row, and the formatting machinery cost more than the rest of decoding them.
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut buffer = [0u8; 20];
    let digits = decimal(value, &mut buffer);
    out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    out.push_str(digits);
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian (year, month, day) for a count of days
/// since 1970-01-01, exact for any input far beyond PostgreSQL's range.
fn civil_from_days(unix_days: i64) -> (i64, u32, u32) {
    let shifted = unix_days + 719_468; // Day 0 becomes 0000-03-01, so leap days end each cycle.
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction (1..=31, 1..=12).
    (
        year,
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
}

/// "HH:MM:SS" plus a trimmed fraction; 24:00:00 is valid, as in PostgreSQL.
fn push_time_of_day(out: &mut String, micros: i64) -> Result<(), Malformed> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err(Malformed("time of day out of range"));
    }
    let hours = micros / MICROS_PER_HOUR;
    let minutes = micros % MICROS_PER_HOUR / MICROS_PER_MINUTE;
    let seconds = micros % MICROS_PER_MINUTE / MICROS_PER_SECOND;
    for (index, part) in [hours, minutes, seconds].into_iter().enumerate() {
        if index > 0 {
            out.push(':');
        }
        push_padded(out, part.unsigned_abs(), 2);
    }
    push_fraction(out, micros % MICROS_PER_SECOND);
    Ok(())
}

/// ".ffffff" without trailing zeros, or nothing for a whole second; `micros` is within a second.
pub(super) fn push_fraction(out: &mut String, micros: i64) {
    let mut micros = micros.unsigned_abs() % 1_000_000;
    if micros != 0 {
        let mut width = 6;
        while micros % 10 == 0 {
            micros /= 10;
            width -= 1;
        }
        out.push('.');
        push_padded(out, micros, width);
    }
}

/// "+HH:MM", with ":SS" only when the offset has seconds (historical zones do).
fn push_utc_offset(out: &mut String, seconds_east: i64) {
    out.push(if seconds_east < 0 { '-' } else { '+' });
    let seconds = seconds_east.unsigned_abs();
    push_padded(out, seconds / 3600, 2);
    out.push(':');
    push_padded(out, seconds % 3600 / 60, 2);
    if seconds % 60 != 0 {
        out.push(':');
        push_padded(out, seconds % 60, 2);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn padded_digits_are_what_formatting_gives() {
        for value in [0, 1, 9, 10, 59, 99, 100, 2024, 99_999, 5_874_897, u64::MAX] {
            for width in [0, 1, 2, 4, 6] {
                let mut out = String::from("x");
                push_padded(&mut out, value, width);
                assert_eq!(out, format!("x{value:0width$}"));
            }
        }
    }

    fn days(days: i32) -> [u8; 4] {
        days.to_be_bytes()
    }

    #[test]
    fn dates_around_epochs_and_leap_days() {
        assert_eq!(date(&days(0)), Ok(json!("2000-01-01")));
        assert_eq!(date(&days(-1)), Ok(json!("1999-12-31")));
        assert_eq!(date(&days(0x2279)), Ok(json!("2024-02-29")));
        assert_eq!(date(&days(-10_957)), Ok(json!("1970-01-01")));
        assert_eq!(date(&days(59)), Ok(json!("2000-02-29")));
        // 1900 is not a leap year: February 28th is followed by March 1st.
        assert_eq!(date(&days(-36_466)), Ok(json!("1900-02-28")));
        assert_eq!(date(&days(-36_465)), Ok(json!("1900-03-01")));
        assert_eq!(date(&days(i32::MAX)), Ok(json!("infinity")));
        assert_eq!(date(&days(i32::MIN)), Ok(json!("-infinity")));
    }

    #[test]
    fn dates_at_the_edges_of_postgres_range() {
        // Captured with date_send: 0001-01-01, 0001-12-31 BC, 4713-01-01 BC, 5874897-12-31.
        assert_eq!(date(b"\xff\xf4\xdb\xf9"), Ok(json!("0001-01-01")));
        assert_eq!(date(b"\xff\xf4\xdb\xf8"), Ok(json!("0000-12-31")));
        assert_eq!(date(b"\xff\xda\x97\xcd"), Ok(json!("-4712-01-01")));
        assert_eq!(date(b"\x7f\xda\x97\x0c"), Ok(json!("5874897-12-31")));
        assert!(date(&[0, 0, 0]).is_err());
    }

    #[test]
    fn times_drop_zero_fractions() {
        assert_eq!(time(&0i64.to_be_bytes()), Ok(json!("00:00:00")));
        assert_eq!(
            time(b"\x00\x00\x00\x14\x1d\xd7\x60\x00"),
            Ok(json!("24:00:00"))
        );
        assert_eq!(
            time(b"\x00\x00\x00\x14\x1d\xc8\x1d\xc1"),
            Ok(json!("23:59:59.000001"))
        );
        assert_eq!(
            time(&37_800_500_000i64.to_be_bytes()),
            Ok(json!("10:30:00.5"))
        );
        assert!(time(&(-1i64).to_be_bytes()).is_err());
        assert!(time(&(MICROS_PER_DAY + 1).to_be_bytes()).is_err());
    }

    #[test]
    fn timetz_prints_offset_east_of_utc() {
        // timetz_send('10:30:00+02') and timetz_send('00:00:01.25-05:30:15').
        assert_eq!(
            timetz(b"\x00\x00\x00\x08\xcd\x0e\x3a\x00\xff\xff\xe3\xe0"),
            Ok(json!("10:30:00+02:00"))
        );
        assert_eq!(
            timetz(b"\x00\x00\x00\x00\x00\x13\x12\xd0\x00\x00\x4d\x67"),
            Ok(json!("00:00:01.25-05:30:15"))
        );
        let mut utc = 0i64.to_be_bytes().to_vec();
        utc.extend(0i32.to_be_bytes());
        assert_eq!(timetz(&utc), Ok(json!("00:00:00+00:00")));
        assert!(timetz(&utc[..11]).is_err());
    }

    #[test]
    fn timestamps_with_fractions_and_infinities() {
        assert_eq!(
            timestamp(b"\x00\x02\xb1\xf8\x43\xc0\x9c\x40"),
            Ok(json!("2024-01-15T10:30:00.123456"))
        );
        assert_eq!(
            timestamp(b"\xff\xfc\xa2\xfe\xc4\xc0\x7e\xe0"),
            Ok(json!("1969-12-31T23:59:59.5"))
        );
        assert_eq!(
            timestamptz(b"\x00\x02\xb1\xf8\x43\xbe\xba\x00"),
            Ok(json!("2024-01-15T10:30:00Z"))
        );
        assert_eq!(
            timestamp(b"\x7f\xff\xff\x5b\xb3\xb2\x9f\xff"),
            Ok(json!("294276-12-31T23:59:59.999999"))
        );
        assert_eq!(
            timestamp(b"\xfd\x0f\x7f\xbd\xaf\x17\xe0\x00"),
            Ok(json!("-4712-01-01T00:00:00"))
        );
        assert_eq!(
            timestamp(&(-1i64).to_be_bytes()),
            Ok(json!("1999-12-31T23:59:59.999999"))
        );
        assert_eq!(timestamptz(&i64::MAX.to_be_bytes()), Ok(json!("infinity")));
        assert_eq!(timestamp(&i64::MIN.to_be_bytes()), Ok(json!("-infinity")));
        assert_eq!(timestamp(&(i64::MIN + 1).to_be_bytes()).map(|_| ()), Ok(()));
        assert!(timestamptz(&[0; 7]).is_err());
    }
}
