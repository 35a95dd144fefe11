//! `resources[i].type`: the database engines the relay serves, as a leaf the resource and its
//! typed connection both name.

use std::fmt;

use serde::Deserialize;

/// `resources[i].type`: which database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceType {
    /// `postgres`: PostgreSQL (default port 5432).
    Postgres,
    /// `mongodb`: MongoDB (default port 27017).
    Mongodb,
}

/// The YAML spellings of [`ResourceType`], in declaration order.
pub(crate) const RESOURCE_TYPE_NAMES: &[&str] = &["postgres", "mongodb"];

impl ResourceType {
    /// The YAML spelling: `postgres` or `mongodb`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResourceType::Postgres => "postgres",
            ResourceType::Mongodb => "mongodb",
        }
    }

    /// The port used when `connection.port` is not set.
    pub fn default_port(&self) -> u16 {
        match self {
            ResourceType::Postgres => 5432,
            ResourceType::Mongodb => 27017,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
