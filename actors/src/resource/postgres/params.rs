//! Query parameters from JSON, sent in PostgreSQL's text format so the server parses them for
//! whatever type the statement expects.

use bytes::BytesMut;
use postgres::types::{Format, IsNull, ToSql, Type};
use serde_json::Value;
use std::error::Error;

/// One JSON parameter: strings go as they are, numbers and booleans as their literal text,
/// arrays and objects as JSON text, null as SQL NULL.
#[derive(Debug)]
pub struct JsonParam(pub Value);

impl ToSql for JsonParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::String(text) => out.extend_from_slice(text.as_bytes()),
            Value::Bool(flag) => out.extend_from_slice(if *flag { b"true" } else { b"false" }),
            Value::Number(number) => out.extend_from_slice(number.to_string().as_bytes()),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: Value) -> Option<String> {
        let mut out = BytesMut::new();
        match JsonParam(value).to_sql(&Type::INT8, &mut out).unwrap() {
            IsNull::Yes => None,
            IsNull::No => Some(String::from_utf8(out.to_vec()).unwrap()),
        }
    }

    #[test]
    fn json_values_become_text_literals() {
        assert_eq!(encode(json!(42)), Some("42".into()));
        assert_eq!(encode(json!(-1.5)), Some("-1.5".into()));
        assert_eq!(encode(json!("it's")), Some("it's".into()));
        assert_eq!(encode(json!(true)), Some("true".into()));
        assert_eq!(encode(json!({"a": [1]})), Some(r#"{"a":[1]}"#.into()));
        assert_eq!(encode(Value::Null), None);
        assert!(matches!(
            JsonParam(json!(1)).encode_format(&Type::NUMERIC),
            Format::Text
        ));
    }
}
