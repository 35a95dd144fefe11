//! Decoder for arrays of decodable element types, rendered as (nested) JSON arrays.
//!
//! Binary layout: dimension count, has-nulls flag, element type oid, then a (length, lower bound)
//! pair per dimension, then every element in row-major order as a four-byte length (-1 for NULL)
//! followed by that many bytes. Lower bounds are dropped: JSON arrays always start at index 0.

use super::budget::Budget;
use super::bytes::{Malformed, Reader};
use super::{decode_within, DecodeError};
use ::postgres::types::Type;
use serde_json::Value;

/// PostgreSQL's MAXDIM; anything deeper is malformed.
const MAX_DIMENSIONS: usize = 6;
/// The smallest possible encoded element: its length field alone (a NULL).
const MIN_ELEMENT_BYTES: usize = 4;

pub(super) fn array(
    array_type: &Type,
    element_type: &Type,
    raw: &[u8],
    budget: &mut Budget,
) -> Result<Value, DecodeError> {
    let malformed = |Malformed(reason)| DecodeError::malformed(array_type, reason);
    let mut reader = Reader::new(raw);
    let dimensions = read_dimensions(&mut reader).map_err(malformed)?;
    if dimensions.is_empty() || dimensions.contains(&0) {
        reader.finish().map_err(malformed)?;
        budget.charge_value(2)?;
        return Ok(Value::Array(Vec::new()));
    }
    // The counts are untrusted: refuse any shape with more elements than the bytes could hold,
    // which also bounds the nested arrays built below.
    let element_count = dimensions
        .iter()
        .try_fold(1usize, |count, &length| count.checked_mul(length));
    let Some(element_count) = element_count else {
        return Err(malformed(Malformed("more elements than bytes")));
    };
    if element_count > reader.remaining() / MIN_ELEMENT_BYTES {
        return Err(malformed(Malformed("more elements than bytes")));
    }
    // Every element takes at least the budget's floor: a count that cannot fit is refused
    // before any room is made for it.
    if !budget.fits_values(element_count) {
        return Err(DecodeError::TooLarge {
            limit: budget.limit(),
        });
    }
    let elements = ElementReader {
        reader,
        element_type,
        array_type,
        budget,
    };
    elements.read_all(&dimensions)
}

/// Reads the header and returns each dimension's length.
fn read_dimensions(reader: &mut Reader<'_>) -> Result<Vec<usize>, Malformed> {
    let dimension_count = reader.i32()?;
    let _has_nulls = reader.i32()?;
    let _element_oid = reader.i32()?;
    let dimension_count = usize::try_from(dimension_count)
        .ok()
        .filter(|&count| count <= MAX_DIMENSIONS)
        .ok_or(Malformed("invalid dimension count"))?;
    (0..dimension_count)
        .map(|_| {
            let length = reader.i32()?;
            let _lower_bound = reader.i32()?;
            usize::try_from(length).map_err(|_| Malformed("negative dimension length"))
        })
        .collect()
}

/// Reads the elements after the header; errors in the layout name the array type.
struct ElementReader<'a, 't> {
    reader: Reader<'a>,
    element_type: &'t Type,
    array_type: &'t Type,
    budget: &'t mut Budget,
}

impl ElementReader<'_, '_> {
    /// Every element, nested by `dimensions`, with no bytes left over.
    fn read_all(mut self, dimensions: &[usize]) -> Result<Value, DecodeError> {
        let value = self.nested(dimensions)?;
        self.reader
            .finish()
            .map_err(|Malformed(reason)| DecodeError::malformed(self.array_type, reason))?;
        Ok(value)
    }

    /// One JSON array per level (its brackets and separators charged first); recursion depth is
    /// at most MAX_DIMENSIONS.
    fn nested(&mut self, dimensions: &[usize]) -> Result<Value, DecodeError> {
        let Some((&length, inner)) = dimensions.split_first() else {
            return self.element();
        };
        self.budget.charge_value(length.saturating_add(1))?;
        let mut items = Vec::with_capacity(length);
        for _ in 0..length {
            items.push(self.nested(inner)?);
        }
        Ok(Value::Array(items))
    }

    fn element(&mut self) -> Result<Value, DecodeError> {
        let malformed = |Malformed(reason)| DecodeError::malformed(self.array_type, reason);
        let length = self.reader.i32().map_err(malformed)?;
        if length == -1 {
            self.budget.charge_value(4)?;
            return Ok(Value::Null);
        }
        let length =
            usize::try_from(length).map_err(|_| malformed(Malformed("negative element length")))?;
        let bytes = self.reader.take(length).map_err(malformed)?;
        decode_within(self.element_type, Some(bytes), self.budget)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::decode;
    use super::*;
    use serde_json::json;

    /// Encodes an int4 array of the given shape, as array_send would.
    fn int4_array(dimensions: &[(i32, i32)], elements: &[Option<i32>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(i32::try_from(dimensions.len()).unwrap().to_be_bytes());
        out.extend(i32::from(elements.contains(&None)).to_be_bytes());
        out.extend(Type::INT4.oid().to_be_bytes());
        for (length, lower_bound) in dimensions {
            out.extend(length.to_be_bytes());
            out.extend(lower_bound.to_be_bytes());
        }
        for element in elements {
            match element {
                Some(value) => {
                    out.extend(4i32.to_be_bytes());
                    out.extend(value.to_be_bytes());
                }
                None => out.extend((-1i32).to_be_bytes()),
            }
        }
        out
    }

    fn decode_int4_array(raw: &[u8]) -> Result<Value, DecodeError> {
        decode(&Type::INT4_ARRAY, Some(raw))
    }

    #[test]
    fn an_element_count_past_the_budget_is_refused_before_room_is_made() {
        // A million NULLs (4 MB as sent) against a 1 MB budget: refused on the count alone.
        let nulls = vec![None; 1_000_000];
        let raw = int4_array(&[(1_000_000, 1)], &nulls);
        let mut budget = Budget::new(1_000_000);
        assert_eq!(
            array(&Type::INT4_ARRAY, &Type::INT4, &raw, &mut budget),
            Err(DecodeError::TooLarge { limit: 1_000_000 })
        );
        assert_eq!(budget.used(), 0);
        let mut budget = Budget::new(1_000);
        let small = int4_array(&[(2, 1)], &[Some(1), None]);
        assert_eq!(
            array(&Type::INT4_ARRAY, &Type::INT4, &small, &mut budget),
            Ok(json!([1, null]))
        );
        assert_eq!(budget.used(), 3 * super::super::budget::VALUE_FLOOR);
    }

    #[test]
    fn matches_array_send_output() {
        // array_send(array[[1,null,3],[4,5,null]]::int4[]) from PostgreSQL 15.
        let captured = int4_array(
            &[(2, 1), (3, 1)],
            &[Some(1), None, Some(3), Some(4), Some(5), None],
        );
        assert_eq!(
            decode_int4_array(&captured),
            Ok(json!([[1, null, 3], [4, 5, null]]))
        );
        // array_send('{}'::int4[]) is the bare header.
        assert_eq!(
            decode_int4_array(b"\0\0\0\0\0\0\0\0\0\0\0\x17"),
            Ok(json!([]))
        );
        // array_send(array['a',null]::text[]).
        let text = b"\0\0\0\x01\0\0\0\x01\0\0\0\x19\0\0\0\x02\0\0\0\x01\0\0\0\x01a\xff\xff\xff\xff";
        assert_eq!(
            decode(&Type::TEXT_ARRAY, Some(text)),
            Ok(json!(["a", null]))
        );
    }

    #[test]
    fn lower_bounds_are_dropped_and_deep_arrays_nest() {
        assert_eq!(
            decode_int4_array(&int4_array(&[(2, 0)], &[Some(7), Some(8)])),
            Ok(json!([7, 8]))
        );
        let cube = int4_array(
            &[(2, 1), (1, 1), (2, 1)],
            &[Some(1), Some(2), Some(3), None],
        );
        assert_eq!(decode_int4_array(&cube), Ok(json!([[[1, 2]], [[3, null]]])));
        let deepest = int4_array(&[(1, 1); 6], &[Some(9)]);
        assert_eq!(decode_int4_array(&deepest), Ok(json!([[[[[[9]]]]]])));
    }

    #[test]
    fn zero_length_dimension_is_empty() {
        assert_eq!(
            decode_int4_array(&int4_array(&[(1_000_000, 1), (0, 1)], &[])),
            Ok(json!([]))
        );
    }

    #[test]
    fn malformed_shapes_are_errors() {
        let too_deep = int4_array(&[(1, 1); 7], &[Some(9)]);
        let negative = int4_array(&[(-1, 1)], &[]);
        let overflow = int4_array(&[(i32::MAX, 1), (i32::MAX, 1), (i32::MAX, 1)], &[Some(1)]);
        let missing = int4_array(&[(3, 1)], &[Some(1), Some(2)]);
        let mut trailing = int4_array(&[(1, 1)], &[Some(1)]);
        trailing.push(0);
        for raw in [too_deep, negative, overflow, missing, trailing] {
            assert!(
                matches!(decode_int4_array(&raw), Err(DecodeError::Malformed { .. })),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn element_errors_name_the_element_type() {
        let mut bad_element = int4_array(&[(1, 1)], &[]);
        bad_element.extend(2i32.to_be_bytes());
        bad_element.extend([0, 1]);
        let error = decode_int4_array(&bad_element).unwrap_err();
        assert_eq!(error.to_string(), "malformed int4 value: truncated");
        let mut negative_length = int4_array(&[(1, 1)], &[]);
        negative_length.extend((-2i32).to_be_bytes());
        assert_eq!(
            decode_int4_array(&negative_length).unwrap_err().to_string(),
            "malformed _int4 value: negative element length"
        );
    }
}
