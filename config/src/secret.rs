//! `Secret`: a string (token, password, URI with credentials) that never shows up in logs.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

/// A sensitive string. `Debug` and `Display` print `[redacted]`, so a secret stays out of
/// logs and error messages even when the struct holding it is printed; read it with
/// [`Secret::expose`] at the one place that needs the real value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

const REDACTED: &str = "[redacted]";

impl Secret {
    /// Wraps a sensitive value.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The real value; call it only where the value is handed to a connection.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any` so that a number reaches `visit_u64` (which does not echo it)
        // instead of the deserializer's own invalid-type error (which would).
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// Accepts only strings. A number or bool is rejected without echoing it, because serde's
/// default message would print the value (an all-digit password, say).
struct SecretVisitor;

impl Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (quote it if it looks like a number)")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Secret, E> {
        Ok(Secret(value))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(E::invalid_type(Unexpected::Other("a boolean"), &self))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(E::invalid_type(Unexpected::Other("a number"), &self))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(secret.clone(), secret);
    }

    #[test]
    fn deserializes_from_a_string() {
        let secret: Secret = serde_norway::from_str("'p: #w'").unwrap();
        assert_eq!(secret.expose(), "p: #w");
    }

    #[test]
    fn rejects_a_number_without_echoing_it() {
        // The config is typed from a parsed value tree, where an unquoted 9876543 is a number.
        let number: serde_norway::Value = serde_norway::from_str("9876543").unwrap();
        let error = serde_norway::from_value::<Secret>(number).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("expected a string"), "{message}");
        assert!(!message.contains("9876543"), "{message}");
    }
}
