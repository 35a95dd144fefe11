//! Lower-case hexadecimal text of bytes, for hashes in audit records and instance directory names.

use std::fmt::Write as _;

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
