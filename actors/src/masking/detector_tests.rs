//! The detectors for formats people store: Unicode e-mails, spaced CPF/CNPJ, dotted cards, Bearer
//! tokens, short JWTs and SQL password literals, each beside look-alikes that must stay.

use super::*;

/// Every default built-in plus the seed's configured patterns, as the example configuration runs.
fn seed_and_builtins() -> MaskingEngine {
    engine(seed_patterns(), Builtins::default(), vec![])
}

/// Asserts each positive comes out exactly as expected and each look-alike unchanged.
fn check(engine: &MaskingEngine, positives: &[(&str, &str)], look_alikes: &[&str]) {
    for (text, expected) in positives {
        assert_eq!(&mask(engine, text).0, expected, "in {text:?}");
    }
    for text in look_alikes {
        let (masked, counts) = mask(engine, text);
        assert_eq!(
            (masked.as_str(), counts.total),
            (*text, 0),
            "look-alike {text:?}"
        );
    }
}

#[test]
fn unicode_and_idn_addresses_are_replaced_whole() {
    let positives = [
        ("joão.silva@gmail.com", "***@***.***"),
        ("para josé@exemplo.com.br.", "para ***@***.***."),
        ("silva.joão@gmail.com", "***@***.***"),
        ("ana@exämple.com", "***@***.***"),
        ("用户@例子.广告", "***@***.***"),
        ("ana@xn--exmple-cua.com", "***@***.***"),
        (
            "<Zoë Müller> zoë.müller@münchen.de",
            "<Zoë Müller> ***@***.***",
        ),
    ];
    let look_alikes = [
        "joão at gmail dot com",
        "version v1.2@3.4",
        "joão@localhost",
        "@joão.com",
        "ação@",
        "user@host.c1x",
    ];
    check(&seed_and_builtins(), &positives, &look_alikes);
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn an_ascii_pattern_inside_a_unicode_address_takes_the_whole_address() {
    // The seed's own e-mail pattern is ASCII-only: alone it matches only `o.silva@gmail.com`
    // and `ana@example.com` of these; the match is widened to the address around it.
    let engine = seed_only();
    for (text, expected) in [
        ("joão.silva@gmail.com", "***@***.***"),
        ("de joão.silva@gmail.com, ok", "de ***@***.***, ok"),
        ("ana@example.com.bré", "***@***.***"),
        (
            "first ana@example.com then joão.silva@gmail.com",
            "first ***@***.*** then ***@***.***",
        ),
    ] {
        assert_eq!(mask(&engine, text).0, expected, "in {text:?}");
    }
    // `user:password@` secrets are no addresses: nothing around them is widened.
    let engine = builtins_only(Builtins::default());
    assert_eq!(
        mask(&engine, "postgres://joão:hunter2@db.example.com/x").0,
        "postgres://joão:***@db.example.com/x"
    );
}

#[test]
fn cpf_and_cnpj_with_spaces_or_no_separators_are_decided_by_check_digits() {
    let positives = [
        ("cpf 529 982 247 25 ok", "cpf ***.***.***-** ok"),
        ("cpf 529 982 247-25", "cpf ***.***.***-**"),
        ("cpf 52998224725", "cpf ***.***.***-**"),
        ("cpf 529982247-25", "cpf ***.***.***-**"),
        ("cnpj 11 222 333 0001 81", "cnpj **.***.***/****-**"),
        ("cnpj 11222333000181", "cnpj **.***.***/****-**"),
        ("cnpj 11222333/0001-81", "cnpj **.***.***/****-**"),
    ];
    let look_alikes = [
        "cpf 529 982 247 26",
        "lot 123 456 789 00",
        "cnpj 11 222 333 0001 80",
        "n 529.98224725",
        "total 529 982 247 255",
    ];
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn cards_grouped_by_dots_or_spaces_are_decided_by_luhn_and_issuer() {
    let positives = [
        ("card 4111.1111.1111.1111", "card [card]"),
        (
            "card 4111 1111 1111 1111 exp 12/29",
            "card [card] exp 12/29",
        ),
        ("amex 3782 822463 10005", "amex [card]"),
        ("19 digits 6011 0000 0000 0000 001", "19 digits [card]"),
        ("4111111111111111", "[card]"),
    ];
    let look_alikes = [
        "card 4111.1111.1111.1112",
        "ref 1234.5678.9012.3452",
        "mixed 4111.1111 1111-1111",
        "e 2.7182818284590452",
        "uuid 12345678-4111-1111-1111-111111111111",
    ];
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn bearer_tokens_and_authorization_headers() {
    let positives = [
        (
            "Authorization: Bearer abc123def456",
            "Authorization: Bearer [token]",
        ),
        (
            r#"{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}"#,
            r#"{"authorization": "Basic [token]"}"#,
        ),
        (
            "curl -H 'Authorization: bearer s3cr3t' http://x",
            "curl -H 'Authorization: bearer [token]' http://x",
        ),
        (
            "sent Bearer AbCdEf0123456789xyz_-.~+/= then",
            "sent Bearer [token] then",
        ),
        // A JWT credential is reported as a JWT.
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "Authorization: Bearer [jwt]",
        ),
    ];
    let look_alikes = [
        "the bearer of this letter",
        "Bearer authentication (RFC 6750)",
        "authorization failed for user",
        "Bearer token",
    ];
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn short_and_unsigned_jwts() {
    let positives = [
        ("t=eyJhbGciOiJub25lIn0.e30. end", "t=[jwt] end"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.ab", "[jwt]"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "[jwt]"),
    ];
    let look_alikes = [
        "eyJfoo.bar.baz",
        "eyJ0eXAiOiJ4In0.e30.x",
        "file eyJ.x.y",
        "eyJhbGciOiJub25lIn0 alone",
    ];
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn sql_password_literals() {
    let positives = [
        (
            "ALTER ROLE app PASSWORD 'hunter2'",
            "ALTER ROLE app PASSWORD '***'",
        ),
        (
            "CREATE ROLE a LOGIN ENCRYPTED PASSWORD 'it''s' VALID UNTIL 'infinity'",
            "CREATE ROLE a LOGIN ENCRYPTED PASSWORD '***' VALID UNTIL 'infinity'",
        ),
        (
            "CREATE USER x IDENTIFIED BY 'pw' ;",
            "CREATE USER x IDENTIFIED BY '***' ;",
        ),
        (
            "create user x identified\n by \"pw\"",
            "create user x identified\n by '***'",
        ),
        (
            "ALTER ROLE a PASSWORD $q$pw$q$;",
            "ALTER ROLE a PASSWORD '***';",
        ),
        (
            "ALTER ROLE a PASSWORD E'p\\'w'",
            "ALTER ROLE a PASSWORD '***'",
        ),
        (
            "ALTER ROLE a WITH PASSWORD 'truncat",
            "ALTER ROLE a WITH PASSWORD '***'",
        ),
        ("SET password = 'x'", "SET password = '***'"),
    ];
    let look_alikes = [
        "CREATE ROLE a PASSWORD NULL",
        "the password's length",
        "identified by the team",
        "SELECT password FROM users",
    ];
    check(
        &builtins_only(Builtins::default()),
        &positives,
        &look_alikes,
    );
}

#[test]
fn new_detectors_can_be_turned_off() {
    let off = Builtins {
        bearer_token: false,
        sql_password: false,
        ..Builtins::default()
    };
    let engine = builtins_only(off);
    for text in [
        "Authorization: Bearer abc123def456",
        "ALTER ROLE a PASSWORD 'x'",
    ] {
        assert_eq!(mask(&engine, text).0, text);
    }
    assert!(Builtins::default().enabled().contains(&"bearerToken"));
    assert!(Builtins::default().enabled().contains(&"sqlPassword"));
}
