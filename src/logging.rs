//! Structured JSON logs on stdout: `level`, `time`, `msg`, then fields; nothing is ever dropped.

use relay_actors::log_event::{is_audit_tag, LogEvent};
use slog::{o, Drain, FnValue, Level, Logger, PushFnValue, Record};
use std::time::SystemTime;

#[path = "log_writer.rs"]
mod writer;

/// Dropping it writes every pending line.
pub struct LogGuard {
    _guard: writer::LinesGuard<std::io::Stdout>,
}

/// The variable that sets the log level.
pub const LEVEL_VARIABLE: &str = "RELAY_LOG_LEVEL";

/// A `RELAY_LOG_LEVEL` that names no level; `shown` is at most 32 characters of the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{LEVEL_VARIABLE}: unknown log level \"{shown}\" (known: trace, debug, info, warn, error)")]
pub struct UnknownLevel {
    pub shown: String,
}

/// The log level from `RELAY_LOG_LEVEL` (`trace`, `debug`, `info`, `warn`, `error`, in any case),
/// `info` when unset or empty; any other value is a usage error, described.
pub fn level_from_env() -> Result<Level, UnknownLevel> {
    parse_level(std::env::var(LEVEL_VARIABLE).ok().as_deref())
}

/// [`level_from_env`] for a given value.
pub fn parse_level(value: Option<&str>) -> Result<Level, UnknownLevel> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(Level::Info);
    };
    match value.to_ascii_lowercase().as_str() {
        "trace" => Ok(Level::Trace),
        "debug" => Ok(Level::Debug),
        "info" => Ok(Level::Info),
        "warn" | "warning" => Ok(Level::Warning),
        "error" => Ok(Level::Error),
        _ => Err(UnknownLevel {
            shown: value.chars().take(32).collect(),
        }),
    }
}

/// The lowercase level names operators expect (`warn`, not `WARN` or `warning`).
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::Error => "error",
        Level::Warning => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// A logger writing one JSON object per line to stdout. Lines logged while another is being
/// written are written together with the next write; a logger blocks rather than drops when
/// stdout falls behind, so no line is lost under load.
pub fn stdout_logger(level: Level) -> (Logger, LogGuard) {
    let (drain, guard) = writer::grouped(std::io::stdout(), |lines| {
        slog_json::Json::new(lines)
            .set_newlines(true)
            // A flush adds the whole line to those waiting for a write.
            .set_flush(true)
            .add_key_value(o!(
                // slog serializes these in reverse order, so they appear as `level`, `time`, `msg`.
                "msg" => PushFnValue(|record: &Record, serializer| serializer.emit(record.msg())),
                "time" => FnValue(|_: &Record| humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
                "level" => FnValue(|record: &Record| level_name(record.level())),
            ))
            .build()
    });
    // Audit records (tagged `audit`, or `audit-more`) pass whatever the log level: they are not
    // diagnostics.
    let drain = drain
        .filter(move |record: &Record| {
            is_audit_tag(record.tag()) || record.level().is_at_least(level)
        })
        .fuse();
    (Logger::root(drain, o!()), LogGuard { _guard: guard })
}

/// Logs panics as JSON. Only the location and literal messages are logged: a formatted panic message
/// could carry data that must not leave unmasked.
pub fn log_panics(log: Logger) {
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&'static str>()
            .copied()
            .unwrap_or("(formatted message withheld)");
        slog::crit!(log, "{}", LogEvent::Panic; "location" => location, "message" => message);
    }));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn levels_are_known_words_and_anything_else_is_an_error() {
        assert_eq!(parse_level(None), Ok(Level::Info));
        assert_eq!(parse_level(Some(" ")), Ok(Level::Info));
        assert_eq!(parse_level(Some("DEBUG")), Ok(Level::Debug));
        assert_eq!(parse_level(Some("warning")), Ok(Level::Warning));
        let err = parse_level(Some("verbose")).unwrap_err().to_string();
        assert_eq!(
            err,
            "RELAY_LOG_LEVEL: unknown log level \"verbose\" (known: trace, debug, info, warn, error)"
        );
    }
}
