//! Field deserializers that accept a number or bool either as itself or as a string, because a
//! value filled from a placeholder (`port: ${PG_PORT}`) is always a string.
//!
//! Range checks are not done here but in `validate`, so that they are all reported together.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// An unsigned integer type a config field can hold.
pub(crate) trait WholeNumber: TryFrom<u64> {
    /// The largest value, for the error message.
    const MAX: u64;
}

impl WholeNumber for u16 {
    const MAX: u64 = u16::MAX as u64;
}
impl WholeNumber for u32 {
    const MAX: u64 = u32::MAX as u64;
}
impl WholeNumber for u64 {
    const MAX: u64 = u64::MAX;
}
impl WholeNumber for usize {
    const MAX: u64 = usize::MAX as u64;
}

/// `deserialize_with` for a whole-number field: `5432` or `"5432"`.
pub(crate) fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: WholeNumber,
{
    deserializer.deserialize_any(NumberVisitor(PhantomData))
}

/// `deserialize_with` for an optional whole-number field (also needs `#[serde(default)]`);
/// null (`port:` with no value) is `None`.
pub(crate) fn optional_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: WholeNumber,
{
    let whole = Option::<Whole<T>>::deserialize(deserializer)?;
    Ok(whole.map(|Whole(value)| value))
}

/// A whole number read by [`number`], so that `Option`'s own null handling can wrap it.
struct Whole<T>(T);

impl<'de, T: WholeNumber> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        number(deserializer).map(Whole)
    }
}

/// `deserialize_with` for a bool field: `true`, `"true"`, `"TRUE"` (and the same for false).
pub(crate) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    deserializer.deserialize_any(BoolVisitor)
}

/// `deserialize_with` for an optional bool field (also needs `#[serde(default)]`); null is `None`.
pub(crate) fn optional_boolean<'de, D>(deserializer: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    let flag = Option::<Flag>::deserialize(deserializer)?;
    Ok(flag.map(|Flag(value)| value))
}

/// A bool read by [`boolean`], so that `Option`'s own null handling can wrap it.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        boolean(deserializer).map(Flag)
    }
}

struct NumberVisitor<T>(PhantomData<T>);

impl<T: WholeNumber> NumberVisitor<T> {
    fn fit<E: de::Error>(value: u64) -> Result<T, E> {
        T::try_from(value)
            .map_err(|_| E::custom(format!("{value} is too large (at most {})", T::MAX)))
    }
}

impl<T: WholeNumber> Visitor<'_> for NumberVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number from 0 to {}", T::MAX)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Self::fit(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        match u64::try_from(value) {
            Ok(value) => Self::fit(value),
            Err(_) => Err(E::custom("must not be negative")),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Err(E::custom("expected a whole number, not a fraction"))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        let trimmed = text.trim();
        if trimmed.starts_with('-') && trimmed[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom("must not be negative"));
        }
        // The text is not echoed: a wrong placeholder could have put a secret here.
        match trimmed.parse::<u64>() {
            Ok(value) => Self::fit(value),
            Err(_) if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) => {
                Err(E::custom(format!("is too large (at most {})", T::MAX)))
            }
            Err(_) => Err(E::custom(
                "expected a whole number, got a non-numeric string",
            )),
        }
    }
}

struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<bool, E> {
        match text.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(true),
            t if t.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(E::custom("expected true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "number")]
        port: u16,
        #[serde(default, deserialize_with = "optional_number")]
        rows: Option<u32>,
        #[serde(default, deserialize_with = "boolean")]
        flag: bool,
    }

    fn parse(text: &str) -> Result<Sample, String> {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_numbers_and_numeric_strings() {
        let sample = parse("port: '5432'\nrows: 7\nflag: 'TRUE'").unwrap();
        assert_eq!(
            (sample.port, sample.rows, sample.flag),
            (5432, Some(7), true)
        );
        let sample = parse("port: 1\nflag: false").unwrap();
        assert_eq!((sample.port, sample.rows, sample.flag), (1, None, false));
        assert_eq!(parse("port: ' 80 '").unwrap().port, 80);
        assert_eq!(parse("port: 1\nrows:").unwrap().rows, None);
    }

    #[test]
    fn rejects_out_of_range_negative_fraction_and_text() {
        assert!(parse("port: 70000")
            .unwrap_err()
            .contains("too large (at most 65535)"));
        assert!(parse("port: '70000'")
            .unwrap_err()
            .contains("too large (at most 65535)"));
        assert!(parse("port: -1")
            .unwrap_err()
            .contains("must not be negative"));
        assert!(parse("port: '-1'")
            .unwrap_err()
            .contains("must not be negative"));
        assert!(parse("port: 1.5").unwrap_err().contains("not a fraction"));
        let error = parse("port: 'hunter2'").unwrap_err();
        assert!(error.contains("non-numeric"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(parse("port: 1\nflag: 'yes'")
            .unwrap_err()
            .contains("true or false"));
    }
}
