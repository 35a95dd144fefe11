//! The approximate size of a JSON value as it would be written, to enforce byte caps without
//! serializing.

use serde_json::{Number, Value};

/// The longest text serde_json prints for an f64 (e.g. "-2.2250738585072014e-308").
pub const FLOAT_TEXT_MAX: usize = 24;

/// The approximate size in bytes of a decoded JSON value, for enforcing a per-result byte cap
/// cheaply (strings: len + 2, numbers: digits, containers: sum + separators). No serialization;
/// string escapes are not counted. Walks with an explicit stack so depth cannot overflow it.
pub fn approximate_json_size(value: &Value) -> usize {
    size_up_to(value, usize::MAX)
}

/// Whether [`approximate_json_size`] of `value` exceeds `limit`. The walk stops as soon as it
/// does, before visiting the items of a container that alone would pass it, so a huge value
/// costs no more than one just past the limit.
pub fn larger_than(value: &Value, limit: usize) -> bool {
    size_up_to(value, limit) > limit
}

/// The approximate size, or a size past `stop_above` once the walk knows it is at least that
/// much (the walk's stack then holds at most about `stop_above` values).
fn size_up_to(value: &Value, stop_above: usize) -> usize {
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        total += match value {
            Value::Null | Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(number) => number_size(number),
            Value::String(text) => text.len() + 2,
            Value::Array(items) => {
                let own = 2 + items.len().saturating_sub(1);
                // Every item adds at least a byte: past the limit, none need be visited.
                let least = total.saturating_add(own).saturating_add(items.len());
                if least > stop_above {
                    return least;
                }
                pending.extend(items);
                own
            }
            Value::Object(members) => {
                // Each key is quoted and followed by a colon; members are comma-separated.
                let mut own = 2 + members.len().saturating_sub(1);
                for key in members.keys() {
                    own = own.saturating_add(key.len() + 3);
                    if total.saturating_add(own) > stop_above {
                        return total.saturating_add(own);
                    }
                }
                pending.extend(members.values());
                own
            }
        };
        if total > stop_above {
            break;
        }
    }
    total
}

fn number_size(number: &Number) -> usize {
    if let Some(unsigned) = number.as_u64() {
        decimal_digits(unsigned)
    } else if let Some(signed) = number.as_i64() {
        1 + decimal_digits(signed.unsigned_abs())
    } else {
        FLOAT_TEXT_MAX
    }
}

fn decimal_digits(value: u64) -> usize {
    value.checked_ilog10().map_or(1, |log| log as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn larger_than_agrees_with_the_size_and_stops_early_on_a_huge_value() {
        let small = json!({"table": "customers", "schema": null});
        let size = approximate_json_size(&small);
        assert!(!larger_than(&small, size));
        assert!(larger_than(&small, size - 1));
        // Two hundred thousand entries: the answer comes from the first few thousand.
        let huge = Value::Array(vec![json!("0123456789"); 200_000]);
        assert!(larger_than(&huge, 16 << 10));
        let wide = Value::Array(vec![Value::Null; 20_000]);
        assert!(larger_than(&wide, 16 << 10));
        assert!(!larger_than(&wide, approximate_json_size(&wide)));
        let keys: serde_json::Map<String, Value> =
            (0..5000).map(|n| (format!("k{n}"), json!(n))).collect();
        let keyed = Value::Object(keys);
        assert!(larger_than(&keyed, 16 << 10));
        assert!(!larger_than(&keyed, approximate_json_size(&keyed)));
        assert_eq!(approximate_json_size(&huge), 2 + 199_999 + 12 * 200_000);
    }
}
