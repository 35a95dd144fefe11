//! Statement rendering tests: comments that would hide structure, constants masked one by one,
//! cuts that never show half a token, huge statements, JSON and unreadable messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use relay_config::Masking;

fn engine() -> MaskingEngine {
    let mut masking = Masking::default();
    masking.patterns.push(relay_config::MaskPattern {
        name: "email".into(),
        regex: r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}".into(),
        replacement: "***@***.***".into(),
    });
    MaskingEngine::from_config(&masking).unwrap()
}

fn sql(text: &str) -> Rendered {
    render(&Statement::Sql(text.to_owned()), 16 << 10, &engine())
}

fn sha(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

#[test]
fn comments_cannot_swallow_structure() {
    let attack = "SELECT /*-----BEGIN PRIVATE KEY-----*/ password, api_token FROM customers \
                  /*-----END PRIVATE KEY-----*/";
    let rendered = sql(attack);
    assert_eq!(
        rendered.text.as_deref(),
        Some("SELECT password, api_token FROM customers")
    );
    assert!(!rendered.truncated);
    assert_eq!(
        (rendered.sha256, rendered.bytes),
        (sha(attack), attack.len() as u64)
    );
    // Without the relay's rendering, masking the raw text swallows the columns.
    let mut counts = MaskedCounts::default();
    let raw = engine().mask_str(attack, &mut counts).into_owned();
    assert!(!raw.contains("password"), "{raw}");
}

#[test]
fn every_comment_form_is_dropped_and_tokens_stay_apart() {
    let cases = [
        ("SELECT/**/1", "SELECT 1"),
        ("-- who\nSELECT 1 -- note\nFROM t", "SELECT 1 FROM t"),
        ("SELECT /* a /* nested */ still */ 2", "SELECT 2"),
        (
            "SELECT 1\n  FROM t\tWHERE x = 1;  ",
            "SELECT 1\n  FROM t\tWHERE x = 1;",
        ),
        (
            "select \"My Col\", upper(x)::text FROM s.t",
            "select \"My Col\", upper(x)::text FROM s.t",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(sql(input).text.as_deref(), Some(expected), "{input}");
    }
}

#[test]
fn each_constant_is_masked_on_its_own() {
    let rendered = sql(
        "SELECT * FROM users WHERE email = 'ana@example.com' AND id = 42 \
                        AND note = $$bo@example.org$$ AND e = E'x\\'cy@example.net'",
    );
    assert_eq!(
        rendered.text.as_deref(),
        Some(
            "SELECT * FROM users WHERE email = '***@***.***' AND id = 42 \
              AND note = $$***@***.***$$ AND e = E'x\\'***@***.***'"
        )
    );
}

#[test]
fn empty_and_blank_statements_render_as_nothing() {
    for text in ["", "   ", "\n\t", "  'unterminated", "\0"] {
        let rendered = sql(text);
        assert_eq!(rendered.text.as_deref(), Some(""), "{text:?}");
        assert_eq!(rendered.sha256, sha(text));
    }
}

#[test]
fn what_does_not_scan_is_cut_before_it() {
    let rendered = sql("SELECT 1 /* hidden ana@example.com and the rest");
    assert_eq!(rendered.text.as_deref(), Some("SELECT 1"));
    assert!(rendered.truncated);
    let rendered = sql("SELECT 'unterminated ana@example.com");
    assert_eq!(rendered.text.as_deref(), Some("SELECT"));
    assert!(rendered.truncated);
}

#[test]
fn a_cut_never_shows_half_a_token() {
    let digits = "52998224725".repeat(30);
    let text = format!("SELECT {digits} FROM t");
    let (rendered, truncated) = render_sql(&text, 64, &engine());
    assert_eq!(rendered, "SELECT");
    assert!(truncated);
}

#[test]
fn a_statement_over_4_mib_is_recorded_truthfully() {
    let mut text = String::from("SELECT password FROM customers WHERE 1 IN (");
    while text.len() < 4 << 20 {
        text.push_str("1,");
    }
    text.push_str("1) /* ana@example.com */");
    let rendered = sql(&text);
    let shown = rendered.text.unwrap();
    assert!(
        shown.starts_with("SELECT password FROM customers WHERE 1 IN (1,1,"),
        "{}",
        &shown[..80]
    );
    assert!(
        shown.len() <= 16 << 10 && shown.len() > 15 << 10,
        "{}",
        shown.len()
    );
    assert!(rendered.truncated);
    assert_eq!(
        (rendered.sha256, rendered.bytes),
        (sha(&text), text.len() as u64)
    );
}

#[test]
fn json_keeps_keys_and_masks_each_value() {
    let command = serde_json::json!({"collection": "users",
        "filter": {"email": "ana@example.com", "$or": [{"age": {"$gt": 30}}, {"pw": "$password"}]}});
    let rendered = render(&Statement::Json(command.clone()), 16 << 10, &engine());
    assert_eq!(
        rendered.text.as_deref(),
        Some(
            r#"{"collection":"users","filter":{"email":"***@***.***","$or":[{"age":{"$gt":30}},{"pw":"$password"}]}}"#
        )
    );
    assert_eq!(rendered.sha256, sha(&canonical(&command)));
    let (cut_text, truncated) = render_json(&command, 20, &engine());
    assert!(truncated && cut_text.len() <= 20, "{cut_text}");
}

#[test]
fn unreadable_messages_show_only_what_can_be_rendered() {
    let garbage = "not json ana@example.com";
    let rendered = render(&Statement::Message(garbage.into()), 1024, &engine());
    assert_eq!((rendered.text, rendered.truncated), (None, true));
    assert_eq!(rendered.sha256, sha(garbage));
    let bad_request =
        r#"{"type":"request","id":7,"params":{"sql":"SELECT /* x */ 'ana@example.com'"}}"#;
    let rendered = render(&Statement::Message(bad_request.into()), 1024, &engine());
    assert_eq!(rendered.text.as_deref(), Some("SELECT '***@***.***'"));
    assert_eq!(rendered.sha256, sha(bad_request));
    let no_params = r#"{"type":"frobnicate","who":"ana@example.com"}"#;
    let rendered = render(&Statement::Message(no_params.into()), 1024, &engine());
    assert_eq!(
        rendered.text.as_deref(),
        Some(r#"{"type":"frobnicate","who":"***@***.***"}"#)
    );
}
