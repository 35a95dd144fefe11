//! What an audit record says about a statement, built so that the statement cannot hide what ran.
//!
//! SQL is rendered from PostgreSQL's own scanner tokens (`pg_query::scan_tokens`, the lexer the
//! parse tree is built from): keywords, identifiers, function names, operators and punctuation
//! are copied verbatim, comments are dropped, and each constant is masked on its own, so no
//! masking pattern can reach across structure. `pg_query::normalize` is not used because it keeps
//! comments. JSON statements (MongoDB commands, other parameters) keep every key and mask each
//! value on its own. The SHA-256 of the exact text received, and its length, are recorded whole;
//! the rendered text is cut at `maxStatementBytes`. Pure.

use super::chain::{canonical, hex};
pub use crate::domain::Statement;
use crate::masking::MaskingEngine;
use crate::protocol::MaskedCounts;
use pg_query::protobuf::{ScanToken, Token};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

impl Statement {
    /// Bytes of the exact text (SQL, the message) or of the canonical JSON.
    fn hashed_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Statement::Sql(text) | Statement::Message(text) => text.as_str().into(),
            Statement::Json(value) => canonical(value).into(),
        }
    }
}

/// How a statement appears in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered text (cut to the limit), or `None` when nothing of it can be shown.
    pub text: Option<String>,
    /// Whether `text` is less than the whole statement.
    pub truncated: bool,
    /// Hex SHA-256 of the exact text received (of the canonical JSON for JSON parameters).
    pub sha256: String,
    /// Length in bytes of that text.
    pub bytes: u64,
}

/// Input bytes looked at to render `max_bytes` of output: masking can lengthen a constant, and
/// dropped comments shorten the text, so twice the output and a little more.
fn window_for(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(2).saturating_add(64)
}

/// Renders `statement` for a record, its text at most `max_bytes` long.
pub fn render(statement: &Statement, max_bytes: usize, engine: &MaskingEngine) -> Rendered {
    let hashed = statement.hashed_text();
    let sha256 = hex(&Sha256::digest(hashed.as_bytes()));
    let bytes = hashed.len() as u64;
    drop(hashed);
    let (text, truncated) = match statement {
        Statement::Sql(sql) => {
            let (text, truncated) = render_sql(sql, max_bytes, engine);
            (Some(text), truncated)
        }
        Statement::Json(value) => {
            let (text, truncated) = render_json(value, max_bytes, engine);
            (Some(text), truncated)
        }
        Statement::Message(text) => render_message(text, max_bytes, engine),
    };
    Rendered {
        text,
        truncated,
        sha256,
        bytes,
    }
}

/// A message that could not be read as a request: its parameters as any request's, else the
/// whole JSON with its values masked, else (not JSON) nothing.
fn render_message(text: &str, max_bytes: usize, engine: &MaskingEngine) -> (Option<String>, bool) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (None, true);
    };
    let params = value.get("params").and_then(Statement::of_params);
    let (rendered, truncated) = match &params {
        Some(Statement::Sql(sql)) => render_sql(sql, max_bytes, engine),
        _ => render_json(&value, max_bytes, engine),
    };
    // Only part of the message is shown when its parameters stand for it.
    (Some(rendered), truncated || params.is_some())
}

/// The largest char boundary at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn cut(mut text: String, max_bytes: usize) -> (String, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let at = floor_boundary(&text, max_bytes);
    text.truncate(at);
    (text, true)
}

/// SQL from its tokens; see the module documentation.
pub fn render_sql(sql: &str, max_bytes: usize, engine: &MaskingEngine) -> (String, bool) {
    let window = floor_boundary(sql, window_for(max_bytes));
    let (end, mut tokens) = match scan(&sql[..window]) {
        Ok(tokens) => (window, tokens),
        Err(_) => longest_scannable_prefix(sql, window),
    };
    let partial = end < sql.len();
    let touches_cut = tokens
        .last()
        .is_some_and(|last| usize::try_from(last.end).is_ok_and(|last_end| last_end >= end));
    if partial && touches_cut {
        // The last token may be cut (half a number or a name): it is left out.
        tokens.pop();
    }
    let text = emit(&sql[..end], &tokens, max_bytes, engine);
    let (text, cut_here) = cut(text, max_bytes);
    (text, partial || cut_here)
}

/// The longest prefix (found by bisection) that the scanner accepts, with its tokens. A prefix
/// fails while it ends inside a quoted string, a quoted name or a comment, so what is returned
/// never shows the inside of one as structure.
fn longest_scannable_prefix(sql: &str, window: usize) -> (usize, Vec<ScanToken>) {
    let (mut good, mut bad) = (0, window);
    let mut tokens = Vec::new();
    while bad - good > 1 {
        let middle = floor_boundary(sql, good + (bad - good) / 2);
        if middle <= good {
            break;
        }
        match scan(&sql[..middle]) {
            Ok(found) => {
                good = middle;
                tokens = found;
            }
            Err(_) => bad = middle,
        }
    }
    (good, tokens)
}

/// The scanner's tokens of `text`. Text without a token is not handed to it: pg_query builds the
/// token slice from a null pointer then, which debug builds reject with an abort.
fn scan(text: &str) -> pg_query::Result<Vec<ScanToken>> {
    if text.bytes().all(|byte| b" \t\n\r\x0b\x0c".contains(&byte)) {
        return Ok(Vec::new());
    }
    pg_query::scan_tokens(text)
}

fn is_constant(token: i32) -> bool {
    [
        Token::Sconst,
        Token::Usconst,
        Token::Bconst,
        Token::Xconst,
        Token::Iconst,
        Token::Fconst,
    ]
    .iter()
    .any(|kind| *kind as i32 == token)
}

fn is_comment(token: i32) -> bool {
    token == Token::SqlComment as i32 || token == Token::CComment as i32
}

/// Writes the kept tokens with the whitespace between them; where a comment was, one space.
fn emit(sql: &str, tokens: &[ScanToken], max_bytes: usize, engine: &MaskingEngine) -> String {
    let mut out = String::new();
    let mut previous_end = 0;
    let mut comment_since = false;
    let mut counts = MaskedCounts::default();
    for token in tokens {
        let (Ok(start), Ok(end)) = (usize::try_from(token.start), usize::try_from(token.end))
        else {
            continue;
        };
        let (Some(gap), Some(text)) = (sql.get(previous_end..start), sql.get(start..end)) else {
            continue;
        };
        previous_end = end;
        if is_comment(token.token) {
            comment_since = true;
            continue;
        }
        if !out.is_empty() {
            let only_space = gap.chars().all(char::is_whitespace);
            out.push_str(if comment_since || !only_space {
                " "
            } else {
                gap
            });
        }
        comment_since = false;
        if is_constant(token.token) {
            out.push_str(&engine.mask_str(text, &mut counts));
        } else {
            out.push_str(text);
        }
        if out.len() > max_bytes {
            break;
        }
    }
    out
}

/// Compact JSON with every key kept and every value masked on its own.
pub fn render_json(value: &Value, max_bytes: usize, engine: &MaskingEngine) -> (String, bool) {
    let mut out = String::new();
    write_json(value, max_bytes, engine, &mut out);
    cut(out, max_bytes)
}

fn write_json(value: &Value, max_bytes: usize, engine: &MaskingEngine, out: &mut String) {
    if out.len() > max_bytes {
        return;
    }
    match value {
        Value::Object(fields) => {
            out.push('{');
            for (index, (key, field)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::String(key.clone()));
                write_json(field, max_bytes, engine, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(item, max_bytes, engine, out);
            }
            out.push(']');
        }
        scalar => {
            let mut masked = scalar.clone();
            engine.mask_value(&mut masked, &mut MaskedCounts::default());
            let _ = write!(out, "{masked}");
        }
    }
}

#[cfg(test)]
#[path = "statement_tests.rs"]
mod tests;
