//! The typed `resources[i].connection`: how to reach the database, with the keys of the
//! resource's engine only. The schema has already reported (and removed) any key of another
//! engine, and the loader tags the connection with the resource's `type`, so serde picks the
//! engine's struct.

use serde::Deserialize;

use crate::engine::ResourceType;
use crate::lenient;
use crate::secret::Secret;

/// `resources[i].connection`, typed by the resource's `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceConnection {
    Postgres(PostgresConnection),
    Mongodb(MongoConnection),
}

/// A postgres resource's connection. Host, database and user are required (checked in
/// `validate`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresConnection {
    /// `host`: host name or IP address. Required.
    #[serde(default)]
    pub host: Option<String>,
    /// `port`: TCP port. Default 5432; range 1..=65535.
    #[serde(default, deserialize_with = "lenient::optional_number")]
    pub port: Option<u16>,
    /// `database`: database name. Required.
    #[serde(default)]
    pub database: Option<String>,
    /// `user`: user name. Required.
    #[serde(default)]
    pub user: Option<String>,
    /// `password`: the user's password. Optional, redacted in output.
    #[serde(default)]
    pub password: Option<Secret>,
    /// `uri`: not supported for postgres; read only to be refused with the keys to use instead.
    #[serde(default)]
    pub uri: Option<Secret>,
    /// `connectTimeoutSeconds`: seconds to wait for a connection. Default 10, range 1..=300.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "lenient::number"
    )]
    pub connect_timeout_seconds: u64,
    /// `applicationName`: the name the relay's sessions show in the database. Default
    /// `relay`; 1 to 63 printable ASCII characters.
    #[serde(default = "default_application_name")]
    pub application_name: String,
    /// `sslmode`: `disable`, `prefer`, `require` or `verify-full`. Default `prefer`.
    #[serde(default)]
    pub sslmode: SslMode,
    /// `caFile`: PEM bundle of CAs trusted for the database's certificate, beside the public
    /// roots. Optional; the file must exist.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

/// A mongodb resource's connection: a `uri`, or a host and the credential keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MongoConnection {
    /// `host`: host name or IP address; this or `uri`.
    #[serde(default)]
    pub host: Option<String>,
    /// `port`: TCP port. Default 27017; range 1..=65535.
    #[serde(default, deserialize_with = "lenient::optional_number")]
    pub port: Option<u16>,
    /// `database`: database name. Required, unless the `uri` names one.
    #[serde(default)]
    pub database: Option<String>,
    /// `user`: user name.
    #[serde(default)]
    pub user: Option<String>,
    /// `password`: the user's password. Optional, redacted in output.
    #[serde(default)]
    pub password: Option<Secret>,
    /// `uri`: `mongodb://` or `mongodb+srv://` connection string, instead of
    /// `host`/`port`/`user`/`password`. Redacted in output.
    #[serde(default)]
    pub uri: Option<Secret>,
    /// `connectTimeoutSeconds`: seconds to wait for a connection. Default 10, range 1..=300.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "lenient::number"
    )]
    pub connect_timeout_seconds: u64,
    /// `applicationName`: the name the relay's sessions show in the database. Default
    /// `relay`; 1 to 63 printable ASCII characters.
    #[serde(default = "default_application_name")]
    pub application_name: String,
    /// `caFile`: PEM bundle of CAs trusted for the server's certificate; implies TLS.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// `authSource`: the database that holds the user's credentials. Default: the driver's
    /// (`admin`, or what the uri says).
    #[serde(default)]
    pub auth_source: Option<String>,
    /// `tls`: connect over TLS (certificates always verified). Default: what the uri says,
    /// else off (`mongodb+srv://` always uses TLS).
    #[serde(default, deserialize_with = "lenient::optional_boolean")]
    pub tls: Option<bool>,
    /// `readPreference`: which members serve reads. Default `secondaryPreferred`, so that
    /// investigations stay off the primary when a secondary is up.
    #[serde(default)]
    pub read_preference: ReadPreference,
}

fn default_connect_timeout() -> u64 {
    10
}
fn default_application_name() -> String {
    "relay".to_owned()
}

/// The keys every engine's connection has, read alike.
impl ResourceConnection {
    /// The engine this connection is for.
    pub fn kind(&self) -> ResourceType {
        match self {
            ResourceConnection::Postgres(_) => ResourceType::Postgres,
            ResourceConnection::Mongodb(_) => ResourceType::Mongodb,
        }
    }

    pub fn as_postgres(&self) -> Option<&PostgresConnection> {
        match self {
            ResourceConnection::Postgres(connection) => Some(connection),
            ResourceConnection::Mongodb(_) => None,
        }
    }

    pub fn as_mongodb(&self) -> Option<&MongoConnection> {
        match self {
            ResourceConnection::Mongodb(connection) => Some(connection),
            ResourceConnection::Postgres(_) => None,
        }
    }

    pub fn host(&self) -> Option<&str> {
        match self {
            ResourceConnection::Postgres(c) => c.host.as_deref(),
            ResourceConnection::Mongodb(c) => c.host.as_deref(),
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            ResourceConnection::Postgres(c) => c.port,
            ResourceConnection::Mongodb(c) => c.port,
        }
    }

    /// `port`, or the default port of the engine.
    pub fn port_or_default(&self) -> u16 {
        self.port().unwrap_or_else(|| self.kind().default_port())
    }

    pub fn database(&self) -> Option<&str> {
        match self {
            ResourceConnection::Postgres(c) => c.database.as_deref(),
            ResourceConnection::Mongodb(c) => c.database.as_deref(),
        }
    }

    pub fn user(&self) -> Option<&str> {
        match self {
            ResourceConnection::Postgres(c) => c.user.as_deref(),
            ResourceConnection::Mongodb(c) => c.user.as_deref(),
        }
    }

    pub fn connect_timeout_seconds(&self) -> u64 {
        match self {
            ResourceConnection::Postgres(c) => c.connect_timeout_seconds,
            ResourceConnection::Mongodb(c) => c.connect_timeout_seconds,
        }
    }

    pub fn application_name(&self) -> &str {
        match self {
            ResourceConnection::Postgres(c) => &c.application_name,
            ResourceConnection::Mongodb(c) => &c.application_name,
        }
    }

    pub fn ca_file(&self) -> Option<&std::path::Path> {
        match self {
            ResourceConnection::Postgres(c) => c.ca_file.as_deref(),
            ResourceConnection::Mongodb(c) => c.ca_file.as_deref(),
        }
    }
}

impl PostgresConnection {
    /// `port`, or 5432.
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or_else(|| ResourceType::Postgres.default_port())
    }
}

impl MongoConnection {
    /// `port`, or 27017.
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or_else(|| ResourceType::Mongodb.default_port())
    }
}

/// `resources[i].connection.readPreference`: MongoDB read preference modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReadPreference {
    Primary,
    PrimaryPreferred,
    Secondary,
    #[default]
    SecondaryPreferred,
    Nearest,
}

pub(crate) const READ_PREFERENCE_NAMES: &[&str] = &[
    "primary",
    "primaryPreferred",
    "secondary",
    "secondaryPreferred",
    "nearest",
];

impl ReadPreference {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadPreference::Primary => "primary",
            ReadPreference::PrimaryPreferred => "primaryPreferred",
            ReadPreference::Secondary => "secondary",
            ReadPreference::SecondaryPreferred => "secondaryPreferred",
            ReadPreference::Nearest => "nearest",
        }
    }
}

/// `resources[i].connection.sslmode`: whether to use TLS to the database. A certificate is
/// always verified when TLS is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SslMode {
    #[serde(rename = "disable")]
    Disable,
    #[default]
    #[serde(rename = "prefer")]
    Prefer,
    #[serde(rename = "require")]
    Require,
    #[serde(rename = "verify-full")]
    VerifyFull,
}

pub(crate) const SSL_MODE_NAMES: &[&str] = &["disable", "prefer", "require", "verify-full"];

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// `item` (one `resources[i]` of the value tree) with its `connection` tagged with its
/// `type` (`!postgres {...}`), the shape [`ResourceConnection`] deserializes from. An item
/// without a string `type` is left as it is (the schema has reported it).
pub(crate) fn tag_by_engine(item: &serde_norway::Value) -> serde_norway::Value {
    use serde_norway::value::{Tag, TaggedValue};
    let mut item = item.clone();
    let kind = item.get("type").and_then(serde_norway::Value::as_str);
    let Some(tag) = kind.map(Tag::new) else {
        return item;
    };
    if let Some(connection) = item.get_mut("connection") {
        let value = std::mem::take(connection);
        *connection = serde_norway::Value::Tagged(Box::new(TaggedValue { tag, value }));
    }
    item
}
