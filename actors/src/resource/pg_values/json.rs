//! json and jsonb values parsed into serde_json under the result's budget: every string, number,
//! array and member is charged as the parser produces it, so a small text that expands into many
//! values (or a large one) stops at the limit instead of after it.

use super::approximate_json_size;
use super::budget::{Budget, OverBudget};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// The parsed value; `Ok(None)` when the text is not JSON (the caller keeps it as a string).
pub(super) fn parse(text: &str, budget: &mut Budget) -> Result<Option<Value>, OverBudget> {
    let before = budget.clone();
    let mut over = None;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Charged {
        budget,
        over: &mut over,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    if let Some(over) = over {
        return Err(over);
    }
    match parsed {
        Ok(value) => Ok(Some(value)),
        Err(_) => {
            // Not JSON after all: what the partial parse charged is given back.
            *budget = before;
            Ok(None)
        }
    }
}

/// Builds one value, charging the budget as it goes; `over` records why it stopped.
struct Charged<'b> {
    budget: &'b mut Budget,
    over: &'b mut Option<OverBudget>,
}

impl Charged<'_> {
    fn charge<E: serde::de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        self.budget.charge_value(bytes).map_err(|over| {
            *self.over = Some(over);
            E::custom("result too large")
        })
    }

    /// A value that is no larger than its JSON text: charged once built.
    fn scalar<E: serde::de::Error>(mut self, value: Value) -> Result<Value, E> {
        self.charge(approximate_json_size(&value))?;
        Ok(value)
    }

    fn nested(&mut self) -> Charged<'_> {
        Charged {
            budget: self.budget,
            over: self.over,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Charged<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Charged<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Value, E> {
        self.scalar(Value::from(value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value, E> {
        self.scalar(Value::from(value))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        self.scalar(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(mut self, value: &str) -> Result<Value, E> {
        self.charge(value.len() + 2)?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(mut self, value: String) -> Result<Value, E> {
        self.charge(value.len() + 2)?;
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<Value, A::Error> {
        self.charge(2)?;
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(self.nested())? {
            values.push(value);
            self.charge(1)?;
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut members: A) -> Result<Value, A::Error> {
        self.charge(2)?;
        let mut object = Map::new();
        while let Some(key) = members.next_key::<String>()? {
            self.charge::<A::Error>(key.len() + 4)?;
            let value = members.next_value_seed(self.nested())?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_serde_json_parses() {
        let text = r#"{"a": [1, -2, 0.5, "x", null, true], "b": {"c": "d"}}"#;
        let mut budget = Budget::unlimited();
        assert_eq!(
            parse(text, &mut budget),
            Ok(Some(serde_json::from_str::<Value>(text).unwrap()))
        );
        assert!(budget.used() > 0);
        assert_eq!(parse("{not json", &mut Budget::new(100)), Ok(None));
    }

    #[test]
    fn stops_as_the_values_grow_past_the_limit() {
        // 20 bytes of text that would be a thousand values stop after about a hundred.
        let text = format!("[{}0]", "0,".repeat(999));
        let mut budget = Budget::new(1000);
        assert_eq!(parse(&text, &mut budget), Err(OverBudget { limit: 1000 }));
        let fits = format!("[{}0]", "0,".repeat(9));
        let mut budget = Budget::new(1000);
        assert_eq!(
            parse(&fits, &mut budget),
            Ok(Some(json!([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])))
        );
    }

    #[test]
    fn text_that_is_not_json_gives_back_what_it_charged() {
        let mut budget = Budget::new(1000);
        assert_eq!(parse("[1, 2, 3", &mut budget), Ok(None));
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn deep_nesting_is_not_json() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse(&deep, &mut Budget::unlimited()), Ok(None));
    }
}
