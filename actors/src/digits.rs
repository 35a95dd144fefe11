//! Decimal and hex digits without the formatting machinery, for the hot paths that write many
//! small numbers (masking judging numbers, dates and times and escapes in every row, uuids).

/// The decimal digits of `value`, written into `buffer` (no allocation).
pub fn decimal(mut value: u64, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buffer[start..]).unwrap_or_default()
}

/// Appends a byte as two lowercase hex digits.
pub fn push_hex_byte(out: &mut String, byte: u8) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
    out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
}
