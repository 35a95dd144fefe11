//! Numbers judged whole by their decimal text: a configured pattern must match all of it, and a
//! built-in digit detector (CPF, CNPJ, card) must accept the whole integer. A digit run inside a
//! decimal or a float's fraction never counts, so `2.718281828459045` is never a card number.

use super::builtins::Kind;
use super::counts::count;
use super::scan::Scanner;
use crate::digits::decimal;
use regex_automata::{Anchored, Input};
use serde_json::Number;

/// The largest magnitude judged as an integer: a float above it has no exact integer digits
/// of interest (cards have at most 19 digits).
const MAX_JUDGED: f64 = 1e19;

/// The smallest magnitude a built-in digit detector can accept (CPFs have 11 digits).
const MIN_IDENTIFIER: u64 = 10_000_000_000;

impl Scanner<'_, '_> {
    /// The replacement (counted) of a number that is an identifier, else `None`. A masked
    /// number leaves as a string: the replacement, in the number's place.
    pub(super) fn mask_number(&mut self, number: &Number) -> Option<String> {
        self.caches.as_ref()?;
        let magnitude = integral_magnitude(number);
        let index = self
            .configured_match(number)
            .or_else(|| magnitude.and_then(|m| self.digit_detector_match(m)))?;
        let pattern = &self.patterns()[index];
        count(self.counts, &pattern.name, 1);
        Some(pattern.replacement.clone())
    }

    /// The first configured pattern matching the number's whole decimal text.
    fn configured_match(&mut self, number: &Number) -> Option<usize> {
        let regex = self.engine.whole_number.as_ref()?;
        let cache = self.caches.as_mut()?.numbers.as_mut()?;
        let mut digits = [0u8; 20];
        let formatted;
        let text = match (number.as_u64(), number.as_i64()) {
            (Some(unsigned), _) => decimal(unsigned, &mut digits),
            (None, Some(signed)) => {
                formatted = format!("-{}", decimal(signed.unsigned_abs(), &mut digits));
                formatted.as_str()
            }
            _ => {
                formatted = number.to_string();
                formatted.as_str()
            }
        };
        let input = Input::new(text).anchored(Anchored::Yes);
        match regex.try_search_fwd(cache, &input) {
            Ok(found) => found
                .filter(|end| end.offset() == text.len())
                .map(|end| end.pattern().as_usize()),
            // The automaton could not decide (it cannot on ASCII text): masked, to fail closed.
            Err(_) => Some(0),
        }
    }

    /// The first built-in digit detector accepting the integer, in the built-ins' order.
    fn digit_detector_match(&self, magnitude: u64) -> Option<usize> {
        if magnitude < MIN_IDENTIFIER {
            return None;
        }
        let mut digits = [0u8; 20];
        let text = decimal(magnitude, &mut digits);
        self.patterns().iter().position(|pattern| {
            pattern.kind == Kind::Digits && pattern.validator.is_some_and(|valid| valid(text))
        })
    }
}

/// The magnitude of an integer, or of a float that is a whole number below `MAX_JUDGED` (a CPF
/// kept in a float8 column is still a CPF); `None` for fractions, which are no identifiers.
fn integral_magnitude(number: &Number) -> Option<u64> {
    if let Some(unsigned) = number.as_u64() {
        return Some(unsigned);
    }
    if let Some(signed) = number.as_i64() {
        return Some(signed.unsigned_abs());
    }
    let float = number.as_f64()?.abs();
    // The cast is exact: the value is whole and below 2^64.
    (float.fract() == 0.0 && float < MAX_JUDGED).then_some(float as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_and_whole_magnitudes() {
        let mut buffer = [0u8; 20];
        assert_eq!(decimal(0, &mut buffer), "0");
        assert_eq!(decimal(u64::MAX, &mut buffer), "18446744073709551615");
        let whole = |n: serde_json::Value| integral_magnitude(&serde_json::from_value(n).ok()?);
        assert_eq!(whole(serde_json::json!(-52998224725i64)), Some(52998224725));
        assert_eq!(
            whole(serde_json::json!(4111111111111111.0)),
            Some(4111111111111111)
        );
        assert_eq!(whole(serde_json::json!(std::f64::consts::E)), None);
        assert_eq!(whole(serde_json::json!(1e300)), None);
    }
}
