//! Database errors that echo data. PostgreSQL quotes the offending input in many messages
//! (`invalid input syntax for type integer: "..."`); when that input came from a row rather than
//! from the statement, it is a value that no column rule sees, since rules apply to result
//! columns. So a quoted fragment of an error that the statement does not contain is replaced.

use crate::messages::OperationError;
use crate::protocol::ErrorCode;

/// What an echoed value becomes.
pub const ECHOED_VALUE: &str = "[value]";

/// A statement's failure with every quoted fragment that does not occur in `statement` (ignoring
/// case, as PostgreSQL folds identifiers) replaced by [`ECHOED_VALUE`]; a quote left open hides
/// the rest. Only failures of the statement itself: a connection's cause names no row's data.
pub fn without_echoed_values(mut error: OperationError, statement: &str) -> OperationError {
    if error.code == ErrorCode::QueryFailed {
        error.message = redact_quoted(&error.message, &statement.to_lowercase());
    }
    error
}

fn redact_quoted(message: &str, statement_lower: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else {
            out.push_str(ECHOED_VALUE);
            return out;
        };
        let fragment = &after[..close];
        if fragment.is_empty() || statement_lower.contains(&fragment.to_lowercase()) {
            out.push_str(fragment);
        } else {
            out.push_str(ECHOED_VALUE);
        }
        out.push('"');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(message: &str, statement: &str) -> String {
        redact_quoted(message, &statement.to_lowercase())
    }

    #[test]
    fn values_from_rows_are_replaced_and_words_of_the_statement_kept() {
        let sql = "SELECT password::int FROM Accounts";
        assert_eq!(
            redacted(
                "invalid input syntax for type integer: \"hunter2\" (SQLSTATE 22P02)",
                sql
            ),
            "invalid input syntax for type integer: \"[value]\" (SQLSTATE 22P02)"
        );
        assert_eq!(
            redacted("relation \"accounts\" does not exist", sql),
            "relation \"accounts\" does not exist"
        );
        assert_eq!(
            redacted(
                "invalid input syntax for type integer: \"abc\"",
                "SELECT 'abc'::int"
            ),
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(redacted("a \"\" b", sql), "a \"\" b");
        assert_eq!(redacted("no quotes at all", sql), "no quotes at all");
    }

    #[test]
    fn a_quote_left_open_hides_the_rest() {
        assert_eq!(
            redacted("x: \"FROM\" and \"secret tail", "SELECT 1 FROM t"),
            "x: \"FROM\" and \"[value]"
        );
    }
}
