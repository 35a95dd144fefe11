//! The key schema: which keys exist where, which are required, and which take one of a fixed
//! set of words. Checked on the value tree before typed deserialization, so that every
//! unknown key, missing key and unknown type/operation/level is reported at once (serde
//! stops at the first). Types of values are left to serde.
//!
//! A resource's keys depend on its engine (its `type`): a key of another engine is reported as
//! applying to that engine only and removed, like an unknown key, so the typed structs of each
//! engine hold only their own keys.

use serde_norway::Value;

use crate::audit::AUDIT_LEVEL_NAMES;
use crate::connection::{READ_PREFERENCE_NAMES, SSL_MODE_NAMES};
use crate::env::key_name;
use crate::error::{index_path, key_path, Problem};
use crate::resource::{OPERATION_NAMES, RESOURCE_TYPE_NAMES};

/// What may appear at one place in the document.
pub(crate) enum Shape {
    /// Anything; serde checks the type.
    Any,
    /// A string that must be one of the words; the noun names it in messages.
    OneOf(&'static str, &'static [&'static str]),
    /// A list whose items all have this shape.
    List(&'static Shape),
    /// A mapping with exactly these keys.
    Map(&'static [Field]),
    /// A mapping with these keys whose `type` names the engine its engine-only keys are for
    /// (here and in the mappings below it).
    Engine(&'static [Field]),
}

/// One key of a mapping.
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) required: bool,
    /// A sibling key that, when present, makes a required key optional.
    pub(crate) unless: Option<&'static str>,
    pub(crate) shape: Shape,
    /// The only engine (resource type) the key belongs to; `None` for every engine.
    pub(crate) engine: Option<&'static str>,
}

const fn required(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        required: true,
        unless: None,
        shape,
        engine: None,
    }
}

/// Required unless the sibling `alternative` is present.
const fn required_unless(name: &'static str, alternative: &'static str, shape: Shape) -> Field {
    Field {
        name,
        required: true,
        unless: Some(alternative),
        shape,
        engine: None,
    }
}

const fn optional(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        required: false,
        unless: None,
        shape,
        engine: None,
    }
}

/// An optional key of postgres resources only.
const fn postgres(name: &'static str, shape: Shape) -> Field {
    Field {
        engine: Some("postgres"),
        ..optional(name, shape)
    }
}

/// An optional key of mongodb resources only.
const fn mongodb(name: &'static str, shape: Shape) -> Field {
    Field {
        engine: Some("mongodb"),
        ..optional(name, shape)
    }
}

impl Field {
    /// Whether the key belongs to resources of `engine` (`None`: not known, so any).
    fn applies_to(&self, engine: Option<&str>) -> bool {
        match (self.engine, engine) {
            (Some(only), Some(engine)) => only == engine,
            _ => true,
        }
    }
}

const CONTROL_PLANE: Shape = Shape::Map(&[
    required("url", Shape::Any),
    required_unless("token", "tokenFile", Shape::Any),
    optional("tokenFile", Shape::Any),
    required("tenantId", Shape::Any),
    optional("caFile", Shape::Any),
    optional("proxy", PROXY),
    optional("allowInsecure", Shape::Any),
    optional("healthIntervalSeconds", Shape::Any),
    optional("heartbeatIntervalSeconds", Shape::Any),
    optional("heartbeatTimeoutSeconds", Shape::Any),
    optional("maxMessageBytes", Shape::Any),
    optional("shutdownGraceSeconds", Shape::Any),
    optional("reconnectMaxDelaySeconds", Shape::Any),
]);

/// `controlPlane.proxy` as a mapping; the word `none` is checked when typed.
const PROXY: Shape = Shape::Map(&[required("url", Shape::Any), optional("caFile", Shape::Any)]);

const CONNECTION: Shape = Shape::Map(&[
    optional("host", Shape::Any),
    optional("port", Shape::Any),
    optional("database", Shape::Any),
    optional("user", Shape::Any),
    optional("password", Shape::Any),
    optional("uri", Shape::Any),
    optional("connectTimeoutSeconds", Shape::Any),
    optional("applicationName", Shape::Any),
    postgres("sslmode", Shape::OneOf("sslmode", SSL_MODE_NAMES)),
    optional("caFile", Shape::Any),
    mongodb("authSource", Shape::Any),
    mongodb("tls", Shape::Any),
    mongodb(
        "readPreference",
        Shape::OneOf("read preference", READ_PREFERENCE_NAMES),
    ),
]);

const RESOURCE: Shape = Shape::Engine(&[
    required("id", Shape::Any),
    required("type", Shape::OneOf("resource type", RESOURCE_TYPE_NAMES)),
    optional("name", Shape::Any),
    required("connection", CONNECTION),
    optional(
        "allowedOperations",
        Shape::List(&Shape::OneOf("operation", OPERATION_NAMES)),
    ),
    optional("maxRowsPerQuery", Shape::Any),
    optional("poolSize", Shape::Any),
    optional("statementTimeoutMs", Shape::Any),
    postgres("lockTimeoutMs", Shape::Any),
    optional("maxQueuedRequests", Shape::Any),
    optional("maxResultBytes", Shape::Any),
    postgres("allowedFunctions", Shape::Any),
    postgres("allowedRelations", Shape::Any),
    optional("tables", TABLES),
    optional("maxStatementBytes", Shape::Any),
    optional("explainAnalyze", Shape::Any),
    optional("allowPrivilegedUser", Shape::Any),
]);

const TABLES: Shape = Shape::Map(&[optional("allow", Shape::Any), optional("deny", Shape::Any)]);

const MASK_PATTERN: Shape = Shape::Map(&[
    required("name", Shape::Any),
    required("regex", Shape::Any),
    required("replacement", Shape::Any),
]);

const BUILTINS: Shape = Shape::Map(&[
    optional("email", Shape::Any),
    optional("cpf", Shape::Any),
    optional("cnpj", Shape::Any),
    optional("creditCard", Shape::Any),
    optional("phone", Shape::Any),
    optional("iban", Shape::Any),
    optional("ipv4", Shape::Any),
    optional("ipv6", Shape::Any),
    optional("jwt", Shape::Any),
    optional("awsAccessKey", Shape::Any),
    optional("privateKey", Shape::Any),
    optional("urlSecret", Shape::Any),
    optional("bearerToken", Shape::Any),
    optional("sqlPassword", Shape::Any),
]);

const COLUMN_RULE: Shape = Shape::Map(&[
    optional("name", Shape::Any),
    optional("regex", Shape::Any),
    optional("table", Shape::Any),
    optional(
        "strategy",
        Shape::OneOf("strategy", &["redact", "partial", "hash"]),
    ),
    optional("replacement", Shape::Any),
    optional("keep", Shape::Any),
]);

const MASKING: Shape = Shape::Map(&[
    optional("enabled", Shape::Any),
    optional("patterns", Shape::List(&MASK_PATTERN)),
    optional("builtins", BUILTINS),
    optional("columns", Shape::List(&COLUMN_RULE)),
    optional("hashKey", Shape::Any),
]);

const AUDIT: Shape = Shape::Map(&[
    optional("enabled", Shape::Any),
    optional("level", Shape::OneOf("audit level", AUDIT_LEVEL_NAMES)),
    optional("redactStatements", Shape::Any),
    optional("file", Shape::Any),
    optional("controlPlane", Shape::Any),
    optional("spoolPath", Shape::Any),
    optional("spoolMaxRecords", Shape::Any),
    optional("maxSpoolBytes", Shape::Any),
    optional("maxStatementBytes", Shape::Any),
]);

/// The whole document.
pub(crate) const ROOT: Shape = Shape::Map(&[
    required("controlPlane", CONTROL_PLANE),
    optional("resources", Shape::List(&RESOURCE)),
    optional("masking", MASKING),
    optional("audit", AUDIT),
    optional("metrics", METRICS),
]);

/// `metrics`: the opt-in Prometheus endpoint.
const METRICS: Shape = Shape::Map(&[required("listen", Shape::Any)]);

/// What the schema check found.
#[derive(Default)]
pub(crate) struct Findings {
    /// Every problem, in document order.
    pub(crate) problems: Vec<Problem>,
    /// Paths of the problems that leave their section unusable for typed deserialization (a
    /// missing key, an unknown word). Unknown keys are not among them: they are removed.
    pub(crate) unusable: Vec<String>,
}

impl Findings {
    fn unusable(&mut self, path: String, message: String) {
        self.unusable.push(path.clone());
        self.problems.push(Problem::new(path, message));
    }
}

/// Checks `tree` against [`ROOT`], reporting every problem. Removes unknown keys, so that the
/// rest can still be typed and validated, and optional keys with no value, so that they take
/// their defaults. `unfilled` are the paths whose placeholders could not be filled (their
/// values are null by now): a required one gets an empty string as a stand-in, so that the
/// rest of its section can still be checked; its problem is already reported.
pub(crate) fn check(tree: &mut Value, unfilled: &[String]) -> Findings {
    let mut walk = Walk {
        unfilled,
        findings: Findings::default(),
        engine: None,
    };
    walk.node(tree, &ROOT, "");
    walk.findings
}

struct Walk<'a> {
    unfilled: &'a [String],
    findings: Findings,
    /// The engine of the resource being walked, once its `type` is a known word.
    engine: Option<&'static str>,
}

impl Walk<'_> {
    fn node(&mut self, node: &mut Value, shape: &Shape, path: &str) {
        match (shape, node) {
            (Shape::Map(fields), Value::Mapping(entries)) => {
                entries.retain(|key, value| self.entry(fields, path, key, value));
                self.missing(fields, path, |name| entries.contains_key(name));
            }
            (Shape::Engine(fields), Value::Mapping(entries)) => {
                let kind = entries.get("type").and_then(Value::as_str);
                let outer = self.engine;
                self.engine = RESOURCE_TYPE_NAMES
                    .iter()
                    .copied()
                    .find(|n| Some(*n) == kind);
                entries.retain(|key, value| self.entry(fields, path, key, value));
                self.missing(fields, path, |name| entries.contains_key(name));
                self.engine = outer;
            }
            // An empty section (`controlPlane:` with nothing under it) lacks all its keys.
            (Shape::Map(fields) | Shape::Engine(fields), Value::Null) => {
                self.missing(fields, path, |_| false)
            }
            (Shape::List(item_shape), Value::Sequence(items)) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.node(item, item_shape, &index_path(path, index));
                }
            }
            (Shape::OneOf(noun, words), Value::String(word)) if !words.contains(&word.as_str()) => {
                let known = words.join(", ");
                let message = format!("unknown {noun} \"{word}\" (known: {known})");
                self.findings.unusable(path.to_owned(), message);
            }
            // A value of the wrong type is left to serde, whose message names the expected type.
            _ => {}
        }
    }

    /// Checks one key of a mapping; `false` removes it.
    fn entry(&mut self, fields: &[Field], path: &str, key: &Value, value: &mut Value) -> bool {
        let name = key_name(key);
        let child = key_path(path, &name);
        let Some(field) = fields.iter().find(|field| key.as_str() == Some(field.name)) else {
            let message = unknown_key(&name, fields, self.engine);
            self.findings.problems.push(Problem::new(child, message));
            return false;
        };

        if value.is_null() {
            if !field.required {
                // `key:` with no value means "use the default", like leaving it out.
                return false;
            }
            if self.unfilled.contains(&child) {
                *value = Value::String(String::new());
            } else if !matches!(field.shape, Shape::Map(_) | Shape::Engine(_)) {
                self.findings.unusable(child, "missing value".to_owned());
                return true;
            }
            // An empty required section goes on to report each of its missing keys.
        }
        if let (false, Some(only)) = (field.applies_to(self.engine), field.engine) {
            let message = format!("applies to {only} resources only");
            self.findings.problems.push(Problem::new(child, message));
            return false;
        }
        self.node(value, &field.shape, &child);
        true
    }

    /// Reports each required key of `fields` that `present` says is absent.
    fn missing(&mut self, fields: &[Field], path: &str, present: impl Fn(&str) -> bool) {
        let absent = |f: &&Field| !present(f.name) && f.unless.is_none_or(|alt| !present(alt));
        for field in fields.iter().filter(|f| f.required).filter(absent) {
            let message = "missing required key".to_owned();
            self.findings.unusable(key_path(path, field.name), message);
        }
    }
}

/// `unknown key "portt" (did you mean "port"?)`, or the list of known keys when nothing is close;
/// only keys of `engine` are suggested or listed.
fn unknown_key(name: &str, fields: &[Field], engine: Option<&str>) -> String {
    let fields: Vec<&Field> = fields.iter().filter(|f| f.applies_to(engine)).collect();
    match closest(name, &fields) {
        Some(suggestion) => format!("unknown key \"{name}\" (did you mean \"{suggestion}\"?)"),
        None => {
            let known: Vec<&str> = fields.iter().map(|field| field.name).collect();
            format!("unknown key \"{name}\" (known keys: {})", known.join(", "))
        }
    }
}

/// The known key that `name` is most likely a typo of: same letters ignoring case, `_` and
/// `-` (catches `tenant_id` for `tenantId`), or at most two edits away.
fn closest(name: &str, fields: &[&Field]) -> Option<&'static str> {
    let normalize = |text: &str| -> String {
        text.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = normalize(name);
    let by_distance = fields
        .iter()
        .map(|field| (edit_distance(&wanted, &normalize(field.name)), field.name))
        .min();
    by_distance
        .filter(|(distance, _)| *distance <= 2)
        .map(|(_, known)| known)
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(a_char != *b_char);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
