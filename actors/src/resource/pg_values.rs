//! Turns result cells, which the `postgres` crate always receives in binary format, into JSON.
//!
//! `decodes_binary` says which column types `decode` understands; the caller casts every other
//! column to `::text` so it arrives as `text`. Decoding checks every length and never panics:
//! malformed bytes become a `DecodeError`.

mod array;
pub mod budget;
mod bytes;
mod datetime;
mod interval;
mod json;
mod network;
mod numeric;
#[cfg(test)]
mod sample_cells;
mod scalar;

use crate::domain::Cell;
pub use crate::json_size::approximate_json_size;
#[cfg(test)]
use crate::json_size::FLOAT_TEXT_MAX;
use ::postgres::types::{FromSql, Kind, Type};
use budget::{Budget, OverBudget};
use bytes::Malformed;
use serde_json::Value;
use std::error::Error;

/// A cell as received: accepts every type, keeps the raw binary bytes (None = SQL NULL).
pub struct RawCell<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawCell(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Why a cell could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not follow the type's binary format.
    #[error("malformed {type_name} value: {reason}")]
    Malformed {
        type_name: String,
        reason: &'static str,
    },
    /// `decodes_binary` is false for this type; it should have been fetched as text.
    #[error("no binary decoder for type {0}")]
    Unsupported(String),
    /// The value does not fit in what is left of the result's byte budget.
    #[error("result exceeds {limit} bytes")]
    TooLarge { limit: u64 },
}

impl From<OverBudget> for DecodeError {
    fn from(OverBudget { limit }: OverBudget) -> Self {
        DecodeError::TooLarge { limit }
    }
}

impl DecodeError {
    fn malformed(ty: &Type, reason: &'static str) -> Self {
        DecodeError::Malformed {
            type_name: ty.name().to_owned(),
            reason,
        }
    }
}

/// Whether `decode` understands this type's binary format. Types for which this is false must be
/// fetched as text instead (the caller casts such columns to ::text and they arrive as `text`).
pub fn decodes_binary(ty: &Type) -> bool {
    format_of(ty).is_some()
}

/// Decodes one binary value of type `ty` to JSON; SQL NULL is JSON null for every type.
///
/// Numbers stay numbers (float NaN and infinities become "NaN", "Infinity", "-Infinity");
/// `numeric` becomes a string with PostgreSQL's exact digits; dates and times become ISO 8601
/// strings (timestamptz in UTC with "Z", intervals as durations like "P1Y2M3DT4H5M6.5S");
/// `bytea` becomes a plain standard base64 string (padded, no prefix); json and jsonb are parsed
/// (text that does not parse stays a string); arrays become nested JSON arrays.
///
/// The value is charged to `budget` as it is built (its JSON size, each value at least
/// [`budget::VALUE_FLOOR`]): text and bytea before their string is allocated, an array's element
/// count before room is made for it, json as the parser produces it.
pub fn decode_within(
    ty: &Type,
    raw: Option<&[u8]>,
    budget: &mut Budget,
) -> Result<Value, DecodeError> {
    let Some(raw) = raw else {
        budget.charge_value(4)?;
        return Ok(Value::Null);
    };
    match format_of(ty) {
        Some(Format::Scalar(scalar)) => {
            decode_scalar(scalar, raw, budget).map_err(|err| match err {
                ScalarError::Malformed(Malformed(reason)) => DecodeError::malformed(ty, reason),
                ScalarError::TooLarge(over) => over.into(),
            })
        }
        Some(Format::Array(element_type)) => array::array(ty, element_type, raw, budget),
        None => Err(DecodeError::Unsupported(ty.name().to_owned())),
    }
}

/// [`decode_within`], with text borrowed from the row instead of copied into a value: the same
/// cell, charged the same, for a writer that masks it and writes it out at once.
pub fn decode_cell_within<'a>(
    ty: &Type,
    raw: Option<&'a [u8]>,
    budget: &mut Budget,
) -> Result<Cell<'a>, DecodeError> {
    match (format_of(ty), raw) {
        (Some(Format::Scalar(Scalar::Text)), Some(raw)) => {
            budget.charge_value(raw.len().saturating_add(2))?;
            let text = std::str::from_utf8(raw)
                .map_err(|_| DecodeError::malformed(ty, scalar::INVALID_UTF8))?;
            Ok(Cell::Text(text))
        }
        _ => decode_within(ty, raw, budget).map(Cell::Value),
    }
}

/// [`decode_within`] with no limit.
#[cfg(test)]
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, DecodeError> {
    decode_within(ty, raw, &mut Budget::unlimited())
}

type ScalarDecoder = fn(&[u8]) -> Result<Value, Malformed>;

/// How a scalar type decodes, and when its size is known.
#[derive(Clone, Copy)]
enum Scalar {
    /// At most a few dozen bytes of JSON: charged once decoded.
    Small(ScalarDecoder),
    /// Text as it arrives: its length is charged before the string is allocated.
    Text,
    Bytea,
    Json,
    Jsonb,
}

enum ScalarError {
    Malformed(Malformed),
    TooLarge(OverBudget),
}

impl From<Malformed> for ScalarError {
    fn from(malformed: Malformed) -> Self {
        ScalarError::Malformed(malformed)
    }
}

impl From<OverBudget> for ScalarError {
    fn from(over: OverBudget) -> Self {
        ScalarError::TooLarge(over)
    }
}

fn decode_scalar(scalar: Scalar, raw: &[u8], budget: &mut Budget) -> Result<Value, ScalarError> {
    match scalar {
        Scalar::Small(decoder) => {
            let value = decoder(raw)?;
            budget.charge_value(approximate_json_size(&value))?;
            Ok(value)
        }
        Scalar::Text => {
            budget.charge_value(raw.len().saturating_add(2))?;
            Ok(scalar::text(raw)?)
        }
        Scalar::Bytea => {
            budget.charge_value(raw.len().div_ceil(3).saturating_mul(4).saturating_add(2))?;
            Ok(scalar::bytea(raw)?)
        }
        Scalar::Json => json_text(raw, budget),
        Scalar::Jsonb => match raw.split_first() {
            Some((1, text)) => json_text(text, budget),
            Some(_) => Err(Malformed("unknown jsonb version").into()),
            None => Err(bytes::TRUNCATED.into()),
        },
    }
}

/// json arrives as its text, jsonb as a version byte and its text; text that does not parse is
/// passed through as a string.
fn json_text(raw: &[u8], budget: &mut Budget) -> Result<Value, ScalarError> {
    let text = std::str::from_utf8(raw).map_err(|_| Malformed("invalid utf-8"))?;
    match json::parse(text, budget)? {
        Some(value) => Ok(value),
        None => {
            budget.charge_value(text.len().saturating_add(2))?;
            Ok(Value::String(text.to_owned()))
        }
    }
}

enum Format<'t> {
    Scalar(Scalar),
    Array(&'t Type),
}

fn format_of(ty: &Type) -> Option<Format<'_>> {
    match ty.kind() {
        Kind::Domain(base) => format_of(base),
        // Enum values are sent as their label's text.
        Kind::Enum(_) => Some(Format::Scalar(Scalar::Text)),
        Kind::Array(element) => format_of(element).map(|_| Format::Array(element)),
        Kind::Simple => scalar_decoder(ty.oid()).map(Format::Scalar),
        _ => None,
    }
}

/// Built-in types by their fixed oids (`Type::oid` is not const, so patterns need literals;
/// a test checks each against the crate's constants). User-defined types never reuse these.
fn scalar_decoder(oid: u32) -> Option<Scalar> {
    let small: ScalarDecoder = match oid {
        17 => return Some(Scalar::Bytea),
        19 | 25 | 142 | 1042 | 1043 => return Some(Scalar::Text), // name, text, xml, bpchar, varchar
        114 => return Some(Scalar::Json),
        3802 => return Some(Scalar::Jsonb),
        16 => scalar::boolean,
        18 => scalar::one_byte_char,
        20 => scalar::int8,
        21 => scalar::int2,
        23 => scalar::int4,
        26 => scalar::oid,
        700 => scalar::float4,
        701 => scalar::float8,
        1700 => numeric::numeric,
        2950 => scalar::uuid,
        1082 => datetime::date,
        1083 => datetime::time,
        1266 => datetime::timetz,
        1114 => datetime::timestamp,
        1184 => datetime::timestamptz,
        1186 => interval::interval,
        869 => network::inet,
        650 => network::cidr,
        829 => network::mac_address::<6>,
        774 => network::mac_address::<8>,
        _ => return None,
    };
    Some(Scalar::Small(small))
}

#[cfg(test)]
mod decode_tests;
