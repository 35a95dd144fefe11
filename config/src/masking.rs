//! The typed `masking.builtins` and `masking.columns` sections: which built-in detectors run, and
//! which columns or fields are masked whole.

use serde::Deserialize;

use crate::lenient;

fn yes() -> bool {
    true
}

/// `masking.builtins`: each built-in detector on or off by name. Omitted names keep their default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Builtins {
    /// `email`: e-mail addresses, Unicode local parts and internationalized domains included; the
    /// whole address is replaced. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub email: bool,
    /// `cpf`: Brazilian CPF, formatted, spaced or bare, check digits verified. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub cpf: bool,
    /// `cnpj`: Brazilian CNPJ, formatted, spaced or bare, check digits verified. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub cnpj: bool,
    /// `creditCard`: card numbers (13-19 digits, bare or grouped by spaces, dashes or dots) in an
    /// issuer range, Luhn-checked. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub credit_card: bool,
    /// `phone`: E.164 and Brazilian phone numbers. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub phone: bool,
    /// `iban`: IBANs, mod-97 checked. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub iban: bool,
    /// `ipv4`: IPv4 addresses. Default off.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub ipv4: bool,
    /// `ipv6`: IPv6 addresses. Default off.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub ipv6: bool,
    /// `jwt`: JSON Web Tokens, short and unsigned ones included (the header is decoded). Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub jwt: bool,
    /// `awsAccessKey`: AWS access key ids. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub aws_access_key: bool,
    /// `privateKey`: PEM private-key blocks. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub private_key: bool,
    /// `urlSecret`: `password=`/`token=`/`secret=` values and `user:password@` in URLs and
    /// connection strings. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub url_secret: bool,
    /// `bearerToken`: `Bearer <token>` credentials and `Authorization:` header values. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub bearer_token: bool,
    /// `sqlPassword`: SQL `PASSWORD '...'` and `IDENTIFIED BY '...'` literals. Default on.
    #[serde(default = "yes", deserialize_with = "lenient::boolean")]
    pub sql_password: bool,
}

impl Default for Builtins {
    fn default() -> Self {
        Builtins {
            email: true,
            cpf: true,
            cnpj: true,
            credit_card: true,
            phone: true,
            iban: true,
            ipv4: false,
            ipv6: false,
            jwt: true,
            aws_access_key: true,
            private_key: true,
            url_secret: true,
            bearer_token: true,
            sql_password: true,
        }
    }
}

impl Builtins {
    /// Every built-in detector off.
    pub fn none() -> Self {
        Builtins {
            email: false,
            cpf: false,
            cnpj: false,
            credit_card: false,
            phone: false,
            iban: false,
            ipv4: false,
            ipv6: false,
            jwt: false,
            aws_access_key: false,
            private_key: false,
            url_secret: false,
            bearer_token: false,
            sql_password: false,
        }
    }

    /// The names (as in the configuration) of the detectors that are on.
    pub fn enabled(&self) -> Vec<&'static str> {
        [
            ("email", self.email),
            ("cpf", self.cpf),
            ("cnpj", self.cnpj),
            ("creditCard", self.credit_card),
            ("phone", self.phone),
            ("iban", self.iban),
            ("ipv4", self.ipv4),
            ("ipv6", self.ipv6),
            ("jwt", self.jwt),
            ("awsAccessKey", self.aws_access_key),
            ("privateKey", self.private_key),
            ("urlSecret", self.url_secret),
            ("bearerToken", self.bearer_token),
            ("sqlPassword", self.sql_password),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }
}

/// How a column rule replaces a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskStrategy {
    /// The whole value becomes `replacement`.
    #[default]
    Redact,
    /// All but the last `keep` characters become `*`.
    Partial,
    /// A keyed SHA-256 prefix, stable for equal values, so masked values stay joinable.
    Hash,
}

/// `masking.columns[i]`: a column or JSON field whose whole value is masked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnRule {
    /// `name`: exact column or field name, compared ignoring case. This or `regex`.
    #[serde(default)]
    pub name: Option<String>,
    /// `regex`: column or field names matching this (case-insensitive). This or `name`.
    #[serde(default)]
    pub regex: Option<String>,
    /// `table`: the rule applies only to columns of relations (or fields of collections) matching
    /// this `name` or `schema.name` (`database.collection`) pattern, `*` matching within a part.
    /// Default: columns of that name in every relation.
    #[serde(default)]
    pub table: Option<String>,
    /// `strategy`: `redact`, `partial` or `hash`. Default `redact`.
    #[serde(default)]
    pub strategy: MaskStrategy,
    /// `replacement`: text for `redact`. Default `***`.
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// `keep`: characters kept at the end for `partial`. Default 4, range 0..=64.
    #[serde(default = "default_keep", deserialize_with = "lenient::number")]
    pub keep: u32,
}

fn default_replacement() -> String {
    "***".to_owned()
}

fn default_keep() -> u32 {
    4
}
