//! Binary values: PostgreSQL bytea (base64 in result cells, hex-escaped inside text such as records)
//! and MongoDB `$binary`, scanned as bytes through their UTF-8 and Latin-1 text views. Any match
//! replaces the whole value with that pattern's replacement: a part of a binary value is no value.

use super::compiled::{MAX_MASKED_VALUE_BYTES, OVERSIZED_REPLACEMENT};
use super::counts::count;
use super::scan::Scanner;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Hex-escaped bytes inside decoded bytes are scanned this many levels deep, no deeper.
const MAX_DEPTH: u8 = 2;

impl Scanner<'_, '_> {
    /// A bytea cell (base64 text, or an array of them): replaced whole when its bytes hold a
    /// match. Text that is not base64 is scanned as text.
    pub(super) fn mask_binary_cell(&mut self, cell: &mut Value) {
        match cell {
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.mask_binary_cell(item)),
            Value::String(encoded) => match STANDARD.decode(encoded.as_bytes()) {
                Ok(bytes) => {
                    if let Some(replacement) = self.mask_bytes(&bytes) {
                        *cell = Value::String(replacement);
                    }
                }
                Err(_) => self.mask_value(cell),
            },
            _ => self.mask_value(cell),
        }
    }

    /// A MongoDB binary in Extended JSON, `{"$binary": {"base64": ..., "subType": ...}}` (or the
    /// legacy `{"$binary": ..., "$type": ...}`): `None` when `fields` are no such binary, else
    /// `Some` of the replacement when its bytes hold a match.
    pub(super) fn mask_extended_binary(
        &mut self,
        fields: &Map<String, Value>,
    ) -> Option<Option<String>> {
        let encoded = match (fields.len(), fields.get("$binary")?) {
            (1, Value::Object(inner)) => inner.get("base64")?.as_str()?,
            (2, Value::String(encoded)) if fields.contains_key("$type") => encoded.as_str(),
            _ => return None,
        };
        let bytes = STANDARD.decode(encoded.as_bytes()).ok()?;
        Some(self.mask_bytes(&bytes))
    }

    /// The replacement of bytes holding a match (counted), else `None`.
    pub(super) fn mask_bytes(&mut self, bytes: &[u8]) -> Option<String> {
        self.caches.as_ref()?;
        if bytes.len() > MAX_MASKED_VALUE_BYTES {
            count(self.counts, "oversized", 1);
            return Some(OVERSIZED_REPLACEMENT.to_owned());
        }
        let (index, replacement) = self.bytes_hit(bytes)?;
        count(self.counts, &self.patterns()[index].name, 1);
        Some(replacement)
    }

    /// The first match in the bytes' UTF-8 view (invalid sequences become U+FFFD, so ASCII text
    /// among binary data still reads), then, for bytes that are not UTF-8, in their Latin-1 view.
    fn bytes_hit(&mut self, bytes: &[u8]) -> Option<(usize, String)> {
        let utf8 = String::from_utf8_lossy(bytes);
        if let Some(found) = self.first_hit(&utf8) {
            return Some(found);
        }
        if matches!(utf8, Cow::Borrowed(_)) {
            return None;
        }
        let latin1: String = bytes.iter().map(|&byte| char::from(byte)).collect();
        self.first_hit(&latin1)
    }

    /// The pattern and replacement of the first accepted match in `text`.
    fn first_hit(&mut self, text: &str) -> Option<(usize, String)> {
        let (hit, _) = self.next_hit(text, 0, 0)?;
        let mut replacement = String::new();
        self.write_replacement(text, &hit, &mut replacement);
        Some((hit.index, replacement))
    }

    /// Hex-escaped bytes (`\x616e61...`) found in text: the inner pattern and the replacement of
    /// the whole escape when the decoded bytes hold a match.
    pub(super) fn hex_bytes_hit(&mut self, escaped: &str) -> Option<(usize, String)> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let hex = &escaped[escaped.find('x')? + 1..];
        let bytes: Vec<u8> = hex
            .as_bytes()
            .chunks_exact(2)
            .map(|pair| Some((hex_digit(pair[0])? << 4) | hex_digit(pair[1])?))
            .collect::<Option<_>>()?;
        self.depth += 1;
        let found = self.bytes_hit(&bytes);
        self.depth -= 1;
        found
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}
