//! The built-in detectors: a regex that finds candidates, an optional validator that confirms them,
//! and the replacement. Regexes are Rust's linear-time engine, so no input can make them backtrack.

use super::validators;

/// One built-in detector.
pub struct Builtin {
    /// The name in `masking.builtins` and in masked counts.
    pub name: &'static str,
    pub regex: &'static str,
    /// Replacement text; `$1`-style groups are expanded.
    pub replacement: &'static str,
    /// Confirms a candidate (check digits); `None` accepts every match.
    pub validator: Option<fn(&str) -> bool>,
}

/// Every built-in detector, in the order they are applied (phones before card numbers, so a phone
/// whose digits happen to pass Luhn is reported as a phone). A name may have several regexes.
/// Word boundaries are ASCII (`(?-u:\b)`): the fast DFA engines cannot evaluate Unicode word
/// boundaries on non-ASCII text and would fall back to a much slower one.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "privateKey",
        regex: r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?s:.)*?-----END [A-Z ]{0,40}PRIVATE KEY-----",
        replacement: "[private key]",
        validator: None,
    },
    Builtin {
        name: "jwt",
        regex: r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
        replacement: "[jwt]",
        validator: None,
    },
    Builtin {
        name: "urlSecret",
        regex: r"(?i-u)\b((?:password|passwd|pwd|pass|token|secret|api[_-]?key|access[_-]?token|auth)=)(?:[!#-%(-:<-~]|(?u:[^\x00-\x7F]))+",
        replacement: "${1}***",
        validator: None,
    },
    Builtin {
        name: "urlSecret",
        regex: r"(?i-u)\b([a-z][a-z0-9+.-]{1,20}://(?:[!-.0-9;-?A-~]|(?u:[^\x00-\x7F]))+):(?:[!-.0-?A-~]|(?u:[^\x00-\x7F]))+@",
        replacement: "${1}:***@",
        validator: None,
    },
    Builtin {
        name: "awsAccessKey",
        regex: r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)",
        replacement: "[aws access key]",
        validator: None,
    },
    Builtin {
        name: "email",
        regex: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        replacement: "***@***.***",
        validator: None,
    },
    Builtin {
        name: "iban",
        regex: r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?-u:\b)",
        replacement: "[iban]",
        validator: Some(validators::is_iban),
    },
    Builtin {
        name: "cnpj",
        regex: r"(?-u:\b)[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}/?[0-9]{4}-?[0-9]{2}(?-u:\b)",
        replacement: "**.***.***/****-**",
        validator: Some(validators::is_cnpj),
    },
    Builtin {
        name: "phone",
        regex: r"(?:\+[1-9][0-9]{0,2}[ -]?)?(?:\([0-9]{2,3}\)|(?-u:\b)[0-9]{2})[ -]?9?[0-9]{4}-[0-9]{4}(?-u:\b)|\+[1-9][0-9]{7,14}(?-u:\b)",
        replacement: "[phone]",
        validator: None,
    },
    Builtin {
        name: "creditCard",
        regex: r"(?-u:\b)(?:[0-9][ -]?){12,18}[0-9](?-u:\b)",
        replacement: "[card]",
        validator: Some(validators::is_card_number),
    },
    Builtin {
        name: "cpf",
        regex: r"(?-u:\b)[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}(?-u:\b)",
        replacement: "***.***.***-**",
        validator: Some(validators::is_cpf),
    },
    Builtin {
        name: "ipv6",
        regex: r"(?-u:\b)(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::?[0-9A-Fa-f]{1,4}){1,7})",
        replacement: "[ipv6]",
        validator: Some(validators::is_ipv6),
    },
    Builtin {
        name: "ipv4",
        regex: r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?-u:\b)",
        replacement: "*.*.*.*",
        validator: None,
    },
];
