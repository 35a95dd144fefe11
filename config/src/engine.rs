//! `resources[i].type`: the database engines the relay serves, as a leaf the resource and its
//! typed connection both name.

use relay_protocol::wire_enum;

wire_enum! {
    /// `resources[i].type`: which database engine.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ResourceType {
        /// `postgres`: PostgreSQL (default port 5432).
        Postgres = "postgres",
        /// `mongodb`: MongoDB (default port 27017).
        Mongodb = "mongodb",
    }
}

/// The YAML spellings of [`ResourceType`], in declaration order.
pub(crate) const RESOURCE_TYPE_NAMES: &[&str] = ResourceType::NAMES;

impl ResourceType {
    /// The port used when `connection.port` is not set.
    pub fn default_port(&self) -> u16 {
        match self {
            ResourceType::Postgres => 5432,
            ResourceType::Mongodb => 27017,
        }
    }
}
