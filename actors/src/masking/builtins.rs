//! The built-in detectors: a regex that finds candidates, an optional validator that confirms them,
//! and the replacement. Regexes are Rust's linear-time engine, so no input can make them backtrack.

use super::validators;

/// What else the engine knows about a pattern's matches, beyond the regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text only.
    Text,
    /// Digit identifiers (CPF, CNPJ, cards): numbers are judged against the validator whole, and
    /// in text a candidate that is part of a decimal (`2.7182818284590452`) does not count.
    Digits,
    /// E-mail addresses: a match is widened to the whole address around it.
    Address,
    /// Hex-escaped bytes in text: decoded, and replaced whole when the bytes hold a match.
    HexBytes,
}

/// One built-in detector.
pub struct Builtin {
    /// The name in `masking.builtins` and in masked counts.
    pub name: &'static str,
    pub regex: &'static str,
    /// Replacement text; `$1`-style groups are expanded.
    pub replacement: &'static str,
    /// Confirms a candidate (check digits); `None` accepts every match.
    pub validator: Option<fn(&str) -> bool>,
    pub kind: Kind,
}

const fn text(
    name: &'static str,
    regex: &'static str,
    replacement: &'static str,
    validator: Option<fn(&str) -> bool>,
) -> Builtin {
    Builtin {
        name,
        regex,
        replacement,
        validator,
        kind: Kind::Text,
    }
}

const fn digits(
    name: &'static str,
    regex: &'static str,
    replacement: &'static str,
    validator: fn(&str) -> bool,
) -> Builtin {
    Builtin {
        name,
        regex,
        replacement,
        validator: Some(validator),
        kind: Kind::Digits,
    }
}

/// Every built-in detector, in the order they are applied (phones before card numbers, so a phone
/// whose digits happen to pass Luhn is reported as a phone). A name may have several regexes.
/// Word boundaries are ASCII (`(?-u:\b)`): the fast DFA engines cannot evaluate Unicode word
/// boundaries on non-ASCII text and would fall back to a much slower one. Grouped digits use one
/// separator throughout (no back-references in a linear-time engine, so one branch each).
pub const BUILTINS: &[Builtin] = &[
    text(
        "privateKey",
        r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?s:.)*?-----END [A-Z ]{0,40}PRIVATE KEY-----",
        "[private key]",
        None,
    ),
    // Header, payload and an optional signature (unsigned tokens end in a dot); the header must
    // decode to JSON naming an `alg`, so short tokens can be told from look-alikes.
    text(
        "jwt",
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
        "[jwt]",
        Some(validators::is_jwt),
    ),
    // A credential that is a JWT is left to the `jwt` detector, which names it better.
    text(
        "bearerToken",
        r#"(?i-u)\b(authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest)\s+)[A-Za-z0-9._~+/=:,-]+"#,
        "${1}[token]",
        Some(validators::is_bearer_credential),
    ),
    text(
        "bearerToken",
        r"(?i-u)\b(bearer\s+)[A-Za-z0-9._~+/-]{16,}=*",
        "${1}[token]",
        Some(validators::is_bearer_credential),
    ),
    text(
        "sqlPassword",
        r#"(?-u:\b)((?i-u:password|identified\s+by)(?-u:\s+|\s*=\s*))(?:'(?:[^']|'')*(?:'|\z)|"(?:[^"]|"")*(?:"|\z)|[Ee]'(?:[^'\\]|''|\\(?s:.))*(?:'|\z)|\$[A-Za-z0-9_]*\$(?s:.)*?(?:\$[A-Za-z0-9_]*\$|\z))"#,
        "${1}'***'",
        None,
    ),
    text(
        "urlSecret",
        r"(?i-u)\b((?:password|passwd|pwd|pass|token|secret|api[_-]?key|access[_-]?token|auth)=)(?:[!#-%(-:<-~]|(?u:[^\x00-\x7F]))+",
        "${1}***",
        None,
    ),
    text(
        "urlSecret",
        r"(?i-u)\b([a-z][a-z0-9+.-]{1,20}://(?:[!-.0-9;-?A-~]|(?u:[^\x00-\x7F]))+):(?:[!-.0-?A-~]|(?u:[^\x00-\x7F]))+@",
        "${1}:***@",
        None,
    ),
    text(
        "awsAccessKey",
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)",
        "[aws access key]",
        None,
    ),
    // Unicode local parts and internationalized domains (or their punycode); the top-level label
    // has letters only or is punycode, so `v1@2.50` and `user@host.c1` are no addresses. Outside
    // ASCII, every character but spaces and punctuation counts as a letter: a few code-point
    // ranges keep the automaton as small and fast as the ASCII one, where `\p{L}` cost 10%.
    Builtin {
        name: "email",
        regex: concat!(
            r"[A-Za-z0-9._%+\-\x{C0}-\x{1FFF}\x{2070}-\x{2FFF}\x{3040}-\x{FEFF}\x{FF10}-\x{FF19}\x{FF21}-\x{10FFFF}]+",
            r"@(?:[A-Za-z0-9\-\x{C0}-\x{1FFF}\x{2070}-\x{2FFF}\x{3040}-\x{FEFF}\x{FF10}-\x{FF19}\x{FF21}-\x{10FFFF}]+\.)+",
            r"(?:[A-Za-z\x{C0}-\x{1FFF}\x{2070}-\x{2FFF}\x{3040}-\x{FEFF}\x{FF10}-\x{FF19}\x{FF21}-\x{10FFFF}]{2,}|xn--[A-Za-z0-9-]{2,})",
        ),
        replacement: "***@***.***",
        validator: None,
        kind: Kind::Address,
    },
    text(
        "iban",
        r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?-u:\b)",
        "[iban]",
        Some(validators::is_iban),
    ),
    digits(
        "cnpj",
        r"(?-u:\b)(?:[0-9]{2}\.[0-9]{3}\.[0-9]{3}/?[0-9]{4}-?[0-9]{2}|[0-9]{8}/?[0-9]{4}-?[0-9]{2}|[0-9]{2} [0-9]{3} [0-9]{3} ?/? ?[0-9]{4}[ -]?[0-9]{2})(?-u:\b)",
        "**.***.***/****-**",
        validators::is_cnpj,
    ),
    text(
        "phone",
        r"(?:\+[1-9][0-9]{0,2}[ -]?)?(?:\([0-9]{2,3}\)|(?-u:\b)[0-9]{2})[ -]?9?[0-9]{4}-[0-9]{4}(?-u:\b)|\+[1-9][0-9]{7,14}(?-u:\b)",
        "[phone]",
        None,
    ),
    // Bare, 4-4-4-(1..7) and 4-6-(4..5) (Amex, Diners); 4-4-4-4-(1..3) is a second regex, tried
    // when the first reads a 19-digit number's first 16 digits.
    digits(
        "creditCard",
        r"(?-u:\b)(?:[0-9]{13,19}|[0-9]{4}(?: [0-9]{4}){2} [0-9]{1,7}|[0-9]{4}(?:-[0-9]{4}){2}-[0-9]{1,7}|[0-9]{4}(?:\.[0-9]{4}){2}\.[0-9]{1,7}|[0-9]{4} [0-9]{6} [0-9]{4,5}|[0-9]{4}-[0-9]{6}-[0-9]{4,5})(?-u:\b)",
        "[card]",
        validators::is_card_number,
    ),
    digits(
        "creditCard",
        r"(?-u:\b)(?:[0-9]{4}(?: [0-9]{4}){3} [0-9]{1,3}|[0-9]{4}(?:-[0-9]{4}){3}-[0-9]{1,3}|[0-9]{4}(?:\.[0-9]{4}){3}\.[0-9]{1,3})(?-u:\b)",
        "[card]",
        validators::is_card_number,
    ),
    digits(
        "cpf",
        r"(?-u:\b)(?:[0-9]{3}\.[0-9]{3}\.[0-9]{3}-?[0-9]{2}|[0-9]{9}-?[0-9]{2}|[0-9]{3} [0-9]{3} [0-9]{3}[ -]?[0-9]{2})(?-u:\b)",
        "***.***.***-**",
        validators::is_cpf,
    ),
    text(
        "ipv6",
        r"(?-u:\b)(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::?[0-9A-Fa-f]{1,4}){1,7})",
        "[ipv6]",
        Some(validators::is_ipv6),
    ),
    text(
        "ipv4",
        r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?-u:\b)",
        "*.*.*.*",
        None,
    ),
];

/// Hex-escaped bytes as PostgreSQL prints bytea inside text (`\x616e61...`; records and arrays
/// double the backslash once per level of quoting): decoded and scanned as bytes. One backslash
/// only, so a run of them yields one candidate, at its last.
pub const HEX_BYTES: &str = r"\\x(?:[0-9A-Fa-f]{2}){4,}";
