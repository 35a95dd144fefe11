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

/// Every built-in detector, in the order they are applied. A name may have several regexes.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "privateKey",
        regex: r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]*?-----END [A-Z ]{0,40}PRIVATE KEY-----",
        replacement: "[private key]",
        validator: None,
    },
    Builtin {
        name: "jwt",
        regex: r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
        replacement: "[jwt]",
        validator: None,
    },
    Builtin {
        name: "urlSecret",
        regex: r"(?i)\b((?:password|passwd|pwd|pass|token|secret|api[_-]?key|access[_-]?token|auth)=)[^&\s;'\x22]+",
        replacement: "${1}***",
        validator: None,
    },
    Builtin {
        name: "urlSecret",
        regex: r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^:/\s@]{1,128}):[^@\s/]{1,256}@",
        replacement: "${1}:***@",
        validator: None,
    },
    Builtin {
        name: "awsAccessKey",
        regex: r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b",
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
        regex: r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
        replacement: "[iban]",
        validator: Some(validators::is_iban),
    },
    Builtin {
        name: "cnpj",
        regex: r"\b[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}/?[0-9]{4}-?[0-9]{2}\b",
        replacement: "**.***.***/****-**",
        validator: Some(validators::is_cnpj),
    },
    Builtin {
        name: "creditCard",
        regex: r"\b(?:[0-9][ -]?){12,18}[0-9]\b",
        replacement: "[card]",
        validator: Some(validators::is_card_number),
    },
    Builtin {
        name: "cpf",
        regex: r"\b[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}\b",
        replacement: "***.***.***-**",
        validator: Some(validators::is_cpf),
    },
    Builtin {
        name: "phone",
        regex: r"(?:\+[1-9][0-9]{0,2}[ -]?)?(?:\([0-9]{2,3}\)|\b[0-9]{2})[ -]?9?[0-9]{4}-[0-9]{4}\b|\+[1-9][0-9]{7,14}\b",
        replacement: "[phone]",
        validator: None,
    },
    Builtin {
        name: "ipv6",
        regex: r"\b(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::?[0-9A-Fa-f]{1,4}){1,7})",
        replacement: "[ipv6]",
        validator: Some(validators::is_ipv6),
    },
    Builtin {
        name: "ipv4",
        regex: r"\b(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b",
        replacement: "*.*.*.*",
        validator: None,
    },
];
