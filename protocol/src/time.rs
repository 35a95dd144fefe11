//! Wall-clock formatting shared by messages and logs.

use std::time::SystemTime;

/// Now, as RFC 3339 UTC with millisecond precision (`2024-01-15T10:30:00.123Z`).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_rfc3339() {
        let text = super::now_rfc3339();
        assert!(text.ends_with('Z') && text.len() == 24, "{text}");
    }
}
