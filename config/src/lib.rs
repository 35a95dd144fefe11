//! The relay's configuration: `relay-config.yaml` read, `${VAR}` placeholders filled from the
//! environment, typed, and validated with every problem reported at once.
//!
//! Map of the crate:
//! - `load.rs`: [`Config::load`] / [`Config::from_yaml_str`], the steps from text to config.
//! - `env.rs`: placeholder expansion inside the parsed value tree.
//! - `schema.rs`: known, required and enumerated keys, checked before typing.
//! - `model.rs`, `resource.rs`, `connection.rs`: the typed structs, with defaults; a resource's
//!   connection is typed by its engine.
//! - `lenient.rs`: numbers and bools that may arrive as strings (from placeholders).
//! - `validate.rs`, `validate_resource.rs`, `validate_postgres.rs`, `validate_mongodb.rs`,
//!   `validate_scope.rs`, `validate_masking.rs`, `validate_metrics.rs`: ranges, formats, name
//!   patterns and cross-key rules, each collecting into a `check::Checker` (a leaf module).
//! - `ws_url.rs`: the control-plane URL rule.
//! - `proxy.rs`: `controlPlane.proxy` and the proxy URL rule.
//! - `secret.rs`: [`Secret`], a string that prints as `[redacted]`.
//! - `token_file.rs`: `controlPlane.token` or `controlPlane.tokenFile`, and reading the file.
//! - `diff.rs`: [`ConfigDiff`], what a reload changes, and what it cannot change.
//! - `error.rs`: [`ConfigError`] and [`Problem`].
//!
//! The full key reference is `docs/configuration.md`; an annotated example is
//! `config/examples/relay-config.yaml`.

#![forbid(unsafe_code)]

mod audit;
mod check;
mod connection;
mod diff;
mod engine;
mod env;
mod error;
mod lenient;
mod load;
mod masking;
mod model;
mod proxy;
mod resource;
mod schema;
mod secret;
mod token_file;
mod validate;
mod validate_masking;
mod validate_metrics;
mod validate_mongodb;
mod validate_postgres;
mod validate_resource;
mod validate_scope;
mod ws_url;

#[cfg(test)]
mod test_support;

use std::path::{Path, PathBuf};

pub use audit::{Audit, AuditLevel};
pub use connection::{
    MongoConnection, PostgresConnection, ReadPreference, ResourceConnection, SslMode,
};
pub use diff::{unreloadable, ConfigDiff, Section};
pub use error::{ConfigError, Problem};
pub use masking::{Builtins, ColumnRule, MaskStrategy};
pub use model::{Config, ControlPlane, MaskPattern, Masking, Metrics};
pub use proxy::{ProxyCredentials, ProxyServer, ProxySetting, ProxyUrl, ProxyUrlError};
pub use resource::{Operation, Resource, ResourceType, Tables};
pub use secret::Secret;
pub use token_file::{read_token_file, TokenFileError};
pub use ws_url::AuthorityError;

/// Where the config is read from when neither `--config` nor `RELAY_CONFIG` says otherwise
/// (the path in the relay's container image).
pub const DEFAULT_CONFIG_PATH: &str = "/app/relay-config.yaml";

/// The environment variable that names the config file when `--config` is not given.
pub const CONFIG_PATH_ENV: &str = "RELAY_CONFIG";

/// The config file to read: the `--config` argument, else `$RELAY_CONFIG` (when set and
/// non-empty), else [`DEFAULT_CONFIG_PATH`].
pub fn resolve_config_path(cli: Option<&Path>) -> PathBuf {
    resolve_config_path_with(cli, &|name| std::env::var(name).ok())
}

fn resolve_config_path_with(cli: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(path) = cli {
        return path.to_path_buf();
    }
    match env(CONFIG_PATH_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_CONFIG_PATH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(value: Option<&str>) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| {
            (name == CONFIG_PATH_ENV)
                .then(|| value.map(str::to_owned))
                .flatten()
        }
    }

    #[test]
    fn cli_beats_env_beats_default() {
        let cli = Path::new("/etc/relay/cli.yaml");
        let from_env = env_with(Some("/etc/relay/env.yaml"));
        assert_eq!(resolve_config_path_with(Some(cli), &from_env), cli);
        assert_eq!(
            resolve_config_path_with(None, &from_env),
            Path::new("/etc/relay/env.yaml")
        );
        assert_eq!(
            resolve_config_path_with(None, &env_with(None)),
            Path::new(DEFAULT_CONFIG_PATH)
        );
        assert_eq!(
            resolve_config_path_with(None, &env_with(Some(""))),
            Path::new(DEFAULT_CONFIG_PATH)
        );
    }

    #[test]
    fn public_resolver_prefers_the_cli_argument() {
        let cli = Path::new("./relay.yaml");
        assert_eq!(resolve_config_path(Some(cli)), cli);
    }
}
