//! The typed configuration: the top level, the control-plane link, masking and audit.
//! Resources live in `resource.rs`. Ranges are checked in `validate.rs`, not here.

use std::path::PathBuf;

use serde::Deserialize;

use crate::audit::Audit;
use crate::lenient;
use crate::proxy::ProxySetting;
use crate::resource::Resource;
use crate::secret::Secret;

/// The whole `relay-config.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// `controlPlane`: where the relay connects out to. Required.
    pub control_plane: ControlPlane,
    /// `resources`: the databases the relay serves. Required, at least one.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// `masking`: what is masked in results. Optional; default: enabled, no patterns.
    #[serde(default)]
    pub masking: Masking,
    /// `audit`: audit logging. Optional; default: enabled at `info`.
    #[serde(default)]
    pub audit: Audit,
    /// `metrics`: the Prometheus endpoint. Optional; absent: no listening socket at all.
    #[serde(default)]
    pub metrics: Option<Metrics>,
}

/// `metrics`: serves Prometheus text exposition at `GET /metrics`. The relay's only listening
/// socket, so it exists only when asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metrics {
    /// `metrics.listen`: the socket address to listen on, e.g. `127.0.0.1:9464`. Required.
    #[serde(deserialize_with = "socket_address")]
    pub listen: std::net::SocketAddr,
}

/// An IP address and port; host names are refused, since resolving one could pick any interface.
fn socket_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<std::net::SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "expected an IP address and port such as 127.0.0.1:9464 or [::1]:9464, got {text:?}"
        ))
    })
}

impl Metrics {
    /// Whether scrapers on other hosts can reach the endpoint (anything but a loopback address).
    pub fn reachable_from_network(&self) -> bool {
        !self.listen.ip().is_loopback()
    }
}

/// `controlPlane`: the outbound WebSocket link to the control plane.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlane {
    /// `url`: `wss://` URL to connect to; `ws://` only to a loopback host unless
    /// `allowInsecure`. Required.
    pub url: String,
    /// `token`: the relay's credential for the control plane, inline. Exactly one of `token`
    /// and `tokenFile` is required; redacted in output.
    #[serde(default)]
    pub token: Option<Secret>,
    /// `tokenFile`: path of a file holding the credential (a mounted Secret). Read at start, on
    /// every reload and after the control plane refuses the token; surrounding whitespace is
    /// ignored.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The credential in effect: `token`, or what `tokenFile` held when the config was loaded.
    #[serde(skip)]
    pub credential: Secret,
    /// `tenantId`: the tenant this relay belongs to, `[A-Za-z0-9._-]{1,128}`. Required.
    pub tenant_id: String,
    /// `caFile`: path of an extra PEM CA bundle, for a control plane behind a private CA.
    /// Default: none (public web roots only). The file must exist.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// `proxy`: `none`, or `{url, caFile?}` to tunnel through that HTTP proxy. Default: from
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<ProxySetting>,
    /// `allowInsecure`: allow `ws://` to a non-loopback host. Default: false.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub allow_insecure: bool,
    /// `healthIntervalSeconds`: seconds between health reports. Default 30, range 1..=3600.
    #[serde(
        default = "default_health_interval",
        deserialize_with = "lenient::number"
    )]
    pub health_interval_seconds: u64,
    /// `heartbeatIntervalSeconds`: seconds between WebSocket pings. Default 10, range 1..=300.
    #[serde(
        default = "default_heartbeat_interval",
        deserialize_with = "lenient::number"
    )]
    pub heartbeat_interval_seconds: u64,
    /// `heartbeatTimeoutSeconds`: seconds without any received frame after which the
    /// connection is considered dead. Default 30; greater than the heartbeat interval, at
    /// most 3600.
    #[serde(
        default = "default_heartbeat_timeout",
        deserialize_with = "lenient::number"
    )]
    pub heartbeat_timeout_seconds: u64,
    /// `maxMessageBytes`: bytes; the largest frame or reassembled message accepted.
    /// Default 16777216 (16 MiB), range 65536 (64 KiB)..=268435456 (256 MiB).
    #[serde(
        default = "default_max_message_bytes",
        deserialize_with = "lenient::number"
    )]
    pub max_message_bytes: usize,
    /// `shutdownGraceSeconds`: seconds in-flight work may take to drain on SIGTERM.
    /// Default 10, range 0..=300.
    #[serde(
        default = "default_shutdown_grace",
        deserialize_with = "lenient::number"
    )]
    pub shutdown_grace_seconds: u64,
    /// `reconnectMaxDelaySeconds`: seconds; the cap of the reconnect backoff.
    /// Default 30, range 1..=3600.
    #[serde(
        default = "default_reconnect_max_delay",
        deserialize_with = "lenient::number"
    )]
    pub reconnect_max_delay_seconds: u64,
}

fn default_health_interval() -> u64 {
    30
}
fn default_heartbeat_interval() -> u64 {
    10
}
fn default_heartbeat_timeout() -> u64 {
    30
}
fn default_max_message_bytes() -> usize {
    16 * 1024 * 1024
}
fn default_shutdown_grace() -> u64 {
    10
}
fn default_reconnect_max_delay() -> u64 {
    30
}
fn default_true() -> bool {
    true
}

/// `masking`: regex replacements applied to values before they leave the relay.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Masking {
    /// `enabled`: apply the patterns. Default: true.
    #[serde(default = "default_true", deserialize_with = "lenient::boolean")]
    pub enabled: bool,
    /// `patterns`: the replacements, applied in order. Default: none.
    #[serde(default)]
    pub patterns: Vec<MaskPattern>,
    /// `builtins`: built-in detectors on or off by name. Default: all on but `ipv4`, `ipv6`.
    #[serde(default)]
    pub builtins: crate::masking::Builtins,
    /// `columns`: columns and fields masked whole. Default: none.
    #[serde(default)]
    pub columns: Vec<crate::masking::ColumnRule>,
    /// `hashKey`: key of the `hash` strategy; required when a column rule uses it. Redacted.
    #[serde(default)]
    pub hash_key: Option<Secret>,
}

impl Default for Masking {
    fn default() -> Self {
        Masking {
            enabled: true,
            patterns: Vec::new(),
            builtins: crate::masking::Builtins::default(),
            columns: Vec::new(),
            hash_key: None,
        }
    }
}

/// `masking.patterns[i]`: one named regex and what replaces each match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaskPattern {
    /// `name`: unique, non-empty label (shown in audit records). Required.
    pub name: String,
    /// `regex`: a `regex`-crate pattern; must compile and must not match the empty string.
    /// Required.
    pub regex: String,
    /// `replacement`: text that replaces each match. Required.
    pub replacement: String,
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
