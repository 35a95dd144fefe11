//! Decimal digits of an integer without the formatting machinery, for the hot paths that write
//! many small numbers (masking judging numbers, dates and times in every row).

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
