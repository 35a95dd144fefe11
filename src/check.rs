//! `relay check`: validate the configuration and every local condition `relay run` would refuse
//! or degrade on (the log level, CA files, the proxy setting, the audit trail's files, the status
//! file), and with `--connect` try every database and the control plane (saying which proxy it
//! goes through). Problems are printed with the words `relay run` logs, and the log message it
//! would write.

use crate::{EXIT_UNAVAILABLE, EXIT_USAGE};
use relay::logging;
use relay_actors::audit::sinks::check_paths;
use relay_actors::control_plane::connect::{self, classify, redact_url, ConnectFailure};
use relay_actors::local_state;
use relay_actors::protocol::PROBE_HEADER;
use relay_actors::resource::postgres::database_tls;
use relay_actors::resource::{
    self, verdict, Backend, BackendParts, DatabaseHealth, HealthError, Verdict,
};
use relay_actors::status_file;
use relay_actors::tls::TlsSetupError;
use relay_config::{Config, ConfigError, ResourceConnection};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// What `relay run` logs for each kind of local problem.
const CANNOT_START: &str = "Cannot start relay";
const AUDIT_UNAVAILABLE: &str = "Audit trail unavailable: operations are refused";
const STATUS_UNWRITABLE: &str =
    "Cannot write the status file; `relay healthcheck` will report unhealthy";
const RESOURCE_UNHEALTHY: &str = "Resource unhealthy";
const CONTROL_PLANE_UNREACHABLE: &str = "Cannot connect to control plane";
const CONTROL_PLANE_REJECTED: &str = "Control plane rejected the relay token or tenant id";

/// Prints every configuration and local problem (exit 64) or a summary (exit 0); with `connect`,
/// also the reachability of each database and the control plane (exit 69 if any is unreachable).
pub fn check(config_path: &Path, connect: bool) -> ExitCode {
    let level = logging::level_from_env();
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(err) => {
            report_config_error(&err);
            if let Err(problem) = level {
                eprintln!("{problem}");
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    println!(
        "{}: configuration is valid ({} resource{})",
        config_path.display(),
        config.resources.len(),
        if config.resources.len() == 1 { "" } else { "s" }
    );
    let mut local_ok = match level {
        Ok(_) => true,
        Err(problem) => {
            println!("{problem} (relay run exits 64: \"Invalid log level\")");
            false
        }
    };
    local_ok &= check_local_state(&config);
    if !local_ok {
        return ExitCode::from(EXIT_USAGE);
    }
    if !connect {
        return ExitCode::SUCCESS;
    }
    // Every resource is tried and reported, so no short-circuit here.
    let reachable: Vec<bool> = config.resources.iter().map(check_resource).collect();
    let databases_ok = reachable.iter().all(|ok| *ok);
    let control_plane_ok = check_control_plane(&config);
    if databases_ok && control_plane_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNAVAILABLE)
    }
}

fn report_config_error(err: &ConfigError) {
    eprintln!("{err}");
}

/// Prints one problem with the message `relay run` would log for it.
fn problem(subject: &str, error: &str, run_logs: &str) {
    println!("{subject}: {error} (relay run logs \"{run_logs}\")");
}

/// CA files, the audit trail's files and the status file; true when `relay run` would neither
/// refuse to start nor refuse operations for any of them.
fn check_local_state(config: &Config) -> bool {
    let mut ok = true;
    let plane = &config.control_plane;
    if let Err(err) = connect::Link::new(plane) {
        problem("control plane", &err.to_string(), CANNOT_START);
        ok = false;
    }
    for resource in &config.resources {
        if let Err(err) = resource_tls(resource) {
            problem(
                &format!("resource {}", resource.id),
                &err.to_string(),
                RESOURCE_UNHEALTHY,
            );
            ok = false;
        }
    }
    let report = check_paths(&config.audit, &plane.tenant_id);
    for error in &report.problems {
        problem("audit", error, AUDIT_UNAVAILABLE);
        ok = false;
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if let Some(metrics) = config
        .metrics
        .as_ref()
        .filter(|m| m.reachable_from_network())
    {
        println!(
            "note: metrics.listen {} is reachable from the network: anyone who can connect to it \
             reads the relay's metrics (resource ids and activity, never data or secrets)",
            metrics.listen
        );
    }
    let status = local_state::status_path(&plane.tenant_id);
    if let Err(error) = status_file::probe(&status) {
        problem(
            &format!("status file {}", status.path.display()),
            &error.to_string(),
            STATUS_UNWRITABLE,
        );
        ok = false;
    }
    ok
}

/// A resource's CA bundle, read as the relay reads it.
fn resource_tls(resource: &relay_config::Resource) -> Result<(), TlsSetupError> {
    match &resource.connection {
        ResourceConnection::Postgres(connection) => {
            database_tls(&resource.id, connection).map(drop)
        }
        ResourceConnection::Mongodb(connection) => match connection.ca_file.as_deref() {
            Some(path) => {
                let key = format!("resources[{}].connection.caFile", resource.id);
                relay_actors::tls::client_config(Some(path), &key, Vec::new()).map(drop)
            }
            None => Ok(()),
        },
    }
}

fn check_resource(resource: &relay_config::Resource) -> bool {
    let outcome = check_database(resource);
    // Judged exactly as `relay run` judges it.
    let judged = verdict(resource, &outcome);
    let reason = match (judged, outcome) {
        (Verdict::Healthy { write_warning }, Ok(found)) => {
            println!(
                "resource {}: {}",
                resource.id,
                summarize(&found, write_warning)
            );
            for note in &found.notes {
                println!("resource {}: note: {note}", resource.id);
            }
            return true;
        }
        (Verdict::Unhealthy(reason), _) => reason,
        (Verdict::Healthy { .. }, Err(reason)) => reason.to_string(),
    };
    problem(
        &format!("resource {}", resource.id),
        &reason,
        RESOURCE_UNHEALTHY,
    );
    false
}

/// One health check, through the same backend `relay run` would use for the resource.
fn check_database(resource: &relay_config::Resource) -> Result<DatabaseHealth, HealthError> {
    // One attempt only: the retry delay never comes into play, and the pool logs nowhere.
    let discard = slog::Logger::root(slog::Discard, slog::o!());
    let parts = BackendParts {
        protection: Arc::new(relay_actors::policy::lineage::Unprotected),
        health_interval: Duration::from_secs(30),
        log: &discard,
        gauges: Default::default(),
    };
    resource::open(&Arc::new(resource.clone()), parts, CheckHealth)
}

/// Runs one health check of a backend to its end.
struct CheckHealth;

impl resource::WithBackend for CheckHealth {
    type Output = Result<DatabaseHealth, HealthError>;

    fn with<B: Backend>(self, backend: B) -> Self::Output {
        let system = actix::System::new();
        // Made inside the runtime: the check starts its work on the runtime's blocking threads.
        let outcome = system.block_on(async { backend.check_health().await });
        // The backend (a PostgreSQL pool) is dropped inside the runtime that made it.
        system.block_on(async move { drop(backend) });
        outcome
    }
}

fn summarize(found: &DatabaseHealth, write_warning: Option<String>) -> String {
    let mut summary = format!("ok ({} ms)", found.latency.as_millis());
    match (write_warning, &found.write_reasons) {
        (Some(reasons), _) => {
            summary.push_str(&format!("; warning: the user could write: {reasons}"))
        }
        (None, Some(_)) => {}
        (None, None) => summary.push_str("; the server did not say whether the user could write"),
    }
    summary
}

fn check_control_plane(config: &Config) -> bool {
    let url = redact_url(&config.control_plane.url);
    // The CA file and the proxy were checked with the local state; here they only load again.
    let Ok(link) = connect::Link::new(&config.control_plane) else {
        return false;
    };
    println!("control plane {url}: proxy {}", link.route.describe());
    // The file was read (and found usable) when the configuration loaded; never print the token.
    let token_source = match &config.control_plane.token_file {
        Some(file) => {
            println!("control plane {url}: token read from {}", file.display());
            format!("the relay token in {}", file.display())
        }
        None => "the relay token".to_owned(),
    };
    let request =
        connect::websocket_request(&config.control_plane, &link).set_header(PROBE_HEADER, "1");
    let system = actix::System::new();
    let outcome = system.block_on(async move {
        match actix_rt::time::timeout(connect::CONNECT_TIMEOUT, request.connect()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(match classify(&err) {
                ConnectFailure::Rejected { status } => (
                    format!(
                        "credentials rejected (HTTP {status}): check {token_source} and tenant id"
                    ),
                    CONTROL_PLANE_REJECTED,
                ),
                ConnectFailure::Transient(reason) => (reason, CONTROL_PLANE_UNREACHABLE),
            }),
            Err(_) => Err((
                "connection attempt timed out".to_owned(),
                CONTROL_PLANE_UNREACHABLE,
            )),
        }
    });
    match outcome {
        Ok(()) => {
            println!("control plane {url}: ok");
            true
        }
        Err((reason, run_logs)) => {
            problem(&format!("control plane {url}"), &reason, run_logs);
            false
        }
    }
}
