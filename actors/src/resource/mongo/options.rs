//! MongoDB client options from a resource's configuration, and the scrubbing of credentials from
//! any text the driver produces before it can reach a log line or the control plane.

use mongodb::options::{
    ClientOptions, Credential, ReadPreference, ReadPreferenceOptions, SelectionCriteria, Tls,
    TlsOptions,
};
use regex::Regex;
use relay_config::{MongoConnection, ReadPreference as ConfiguredPreference, Resource};
use std::sync::LazyLock;
use std::time::Duration;

/// Why the driver's options could not be built from a resource's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("resource {id} is not a mongodb resource")]
    NotMongodb { id: String },
    /// The driver refused the configured `uri`; `reason` is its message, credentials scrubbed.
    #[error("invalid connection uri: {reason}")]
    InvalidUri { reason: String },
}

/// Builds the driver's options: the configured `uri` (parsed, which resolves `mongodb+srv`
/// records) or the host keys, with the relay's own limits laid over either.
pub async fn client_options(spec: &Resource) -> Result<ClientOptions, OptionsError> {
    let connection = spec
        .connection
        .as_mongodb()
        .ok_or_else(|| OptionsError::NotMongodb {
            id: spec.id.clone(),
        })?;
    let mut options = match &connection.uri {
        Some(uri) => parse_uri(uri.expose()).await?,
        None => host_options(connection),
    };
    let timeout = Duration::from_secs(connection.connect_timeout_seconds);
    options.app_name = Some(connection.application_name.clone());
    // The pool the relay promises the customer: never more than five connections.
    options.max_pool_size = Some(spec.pool_size.min(5));
    options.min_pool_size = Some(0);
    options.connect_timeout = Some(timeout);
    options.server_selection_timeout = Some(timeout);
    options.retry_writes = Some(false);
    if options.selection_criteria.is_none() {
        options.selection_criteria = Some(selection_criteria(connection.read_preference));
    }
    if let Some(source) = &connection.auth_source {
        let credential = options.credential.get_or_insert_with(Credential::default);
        credential.source = Some(source.clone());
    }
    if let Some(tls) = tls_setting(connection) {
        options.tls = Some(tls);
    }
    if let Some(database) = &connection.database {
        options.default_database = Some(database.clone());
    }
    Ok(options)
}

/// The configured `uri` as the driver reads it (resolving `mongodb+srv` records).
async fn parse_uri(uri: &str) -> Result<ClientOptions, OptionsError> {
    ClientOptions::parse(uri)
        .await
        .map_err(|err| OptionsError::InvalidUri {
            reason: scrub(&err.to_string()),
        })
}

fn host_options(connection: &MongoConnection) -> ClientOptions {
    let host = connection.host.clone().unwrap_or_default();
    let port = connection.port_or_default();
    let address = mongodb::options::ServerAddress::Tcp {
        host,
        port: Some(port),
    };
    let mut options = ClientOptions::builder().hosts(vec![address]).build();
    if let Some(user) = &connection.user {
        options.credential = Some(
            Credential::builder()
                .username(user.clone())
                .password(connection.password.as_ref().map(|p| p.expose().to_owned()))
                .build(),
        );
    }
    options
}

/// `tls` and `caFile`: certificates are always verified; a CA file implies TLS.
fn tls_setting(connection: &MongoConnection) -> Option<Tls> {
    let enabled = || {
        Tls::Enabled(
            TlsOptions::builder()
                .ca_file_path(connection.ca_file.clone())
                .build(),
        )
    };
    match (connection.tls, &connection.ca_file) {
        (Some(false), _) => Some(Tls::Disabled),
        (Some(true), _) | (None, Some(_)) => Some(enabled()),
        (None, None) => None,
    }
}

/// The configured read preference as the driver's selection criteria.
pub fn selection_criteria(mode: ConfiguredPreference) -> SelectionCriteria {
    let options: Option<ReadPreferenceOptions> = None;
    let preference = match mode {
        ConfiguredPreference::Primary => ReadPreference::Primary,
        ConfiguredPreference::PrimaryPreferred => ReadPreference::PrimaryPreferred { options },
        ConfiguredPreference::Secondary => ReadPreference::Secondary { options },
        ConfiguredPreference::SecondaryPreferred => ReadPreference::SecondaryPreferred { options },
        ConfiguredPreference::Nearest => ReadPreference::Nearest { options },
    };
    SelectionCriteria::ReadPreference(preference)
}

/// `user:password@` in any `scheme://` text, and `password=...` pairs.
static CREDENTIALS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<scheme>[a-z][a-z0-9+.-]*://)[^@/\s]*@|(?P<key>password\s*[=:]\s*)\S+").ok()
});

/// Removes credentials from text that may quote a connection string. If the pattern could
/// not be built, nothing of the text is kept (fail closed).
pub fn scrub(text: &str) -> String {
    match CREDENTIALS.as_ref() {
        Some(pattern) => pattern
            .replace_all(text, |caps: &regex::Captures<'_>| {
                match (caps.name("scheme"), caps.name("key")) {
                    (Some(scheme), _) => format!("{}[redacted]@", scheme.as_str()),
                    (None, Some(key)) => format!("{}[redacted]", key.as_str()),
                    (None, None) => "[redacted]".to_owned(),
                }
            })
            .into_owned(),
        None => "[details withheld]".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use relay_config::Config;

    fn resource(connection: &str) -> Resource {
        let yaml = format!(
            "controlPlane: {{url: 'wss://cp.example.com/c', token: t, tenantId: a}}\n\
             resources:\n  - id: m\n    type: mongodb\n    poolSize: 3\n    connection: {{{connection}}}\n"
        );
        Config::from_yaml_str(&yaml, "test.yaml", &|_| None)
            .unwrap()
            .resources
            .remove(0)
    }

    #[actix_rt::test]
    async fn host_keys_become_options() {
        let spec = resource(
            "host: db.internal, port: 27018, database: shop, user: u, password: pw, \
             authSource: admin, connectTimeoutSeconds: 3",
        );
        let options = client_options(&spec).await.unwrap();
        assert_eq!(options.hosts[0].to_string(), "db.internal:27018");
        assert_eq!(options.max_pool_size, Some(3));
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(options.default_database.as_deref(), Some("shop"));
        let credential = options.credential.unwrap();
        assert_eq!(credential.username.as_deref(), Some("u"));
        assert_eq!(credential.source.as_deref(), Some("admin"));
        assert!(matches!(
            options.selection_criteria,
            Some(SelectionCriteria::ReadPreference(
                ReadPreference::SecondaryPreferred { .. }
            ))
        ));
        assert!(options.tls.is_none());
    }

    #[actix_rt::test]
    async fn uri_keeps_its_read_preference_and_loses_big_pools() {
        let spec = resource(
            "uri: 'mongodb://u:p@h1:1,h2:2/shop?readPreference=primary&maxPoolSize=100', tls: true",
        );
        let options = client_options(&spec).await.unwrap();
        assert_eq!(options.max_pool_size, Some(3));
        assert_eq!(options.hosts.len(), 2);
        assert!(matches!(
            options.selection_criteria,
            Some(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        ));
        assert!(matches!(options.tls, Some(Tls::Enabled(_))));
    }

    #[test]
    fn scrub_removes_credentials() {
        let text = "failed to reach mongodb://relay:s3cret@db:27017/shop (password=hunter2)";
        let clean = scrub(text);
        assert!(
            !clean.contains("s3cret") && !clean.contains("hunter2"),
            "{clean}"
        );
        assert!(
            clean.contains("mongodb://[redacted]@db:27017/shop"),
            "{clean}"
        );
        assert_eq!(scrub("no secrets here"), "no secrets here");
    }
}
