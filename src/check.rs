//! `relay check`: validate the configuration, and with `--connect` try every database and the control plane.

use crate::{EXIT_UNAVAILABLE, EXIT_USAGE};
use relay_actors::control_plane::connect::{self, classify, redact_url, ConnectFailure};
use relay_actors::protocol::PROBE_HEADER;
use relay_actors::resource::mongo::MongoBackend;
use relay_actors::resource::off_thread::OffThreadDrop;
use relay_actors::resource::postgres::health::{self, CatalogUpdate};
use relay_actors::resource::postgres::{build_pool, database_tls};
use relay_actors::resource::{verdict, DatabaseHealth, Verdict};
use relay_config::{Config, ConfigError, ResourceType};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Prints every configuration problem (exit 64) or a summary (exit 0); with `connect`, also the
/// reachability of each database and the control plane (exit 69 if any is unreachable).
pub fn check(config_path: &Path, connect: bool) -> ExitCode {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(err) => {
            report_config_error(&err);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    println!(
        "{}: configuration is valid ({} resource{})",
        config_path.display(),
        config.resources.len(),
        if config.resources.len() == 1 { "" } else { "s" }
    );
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

fn check_resource(resource: &relay_config::Resource) -> bool {
    let outcome = match resource.kind {
        ResourceType::Postgres => check_postgres(resource),
        ResourceType::Mongodb => check_mongodb(resource),
    };
    // Judged exactly as `relay run` judges it.
    let judged = verdict(resource, &outcome);
    match (judged, outcome) {
        (Verdict::Healthy { write_warning }, Ok(found)) => {
            println!(
                "resource {}: {}",
                resource.id,
                summarize(&found, write_warning)
            );
            for note in &found.notes {
                println!("resource {}: note: {note}", resource.id);
            }
            true
        }
        (Verdict::Unhealthy(reason), _) | (Verdict::Healthy { .. }, Err(reason)) => {
            println!("resource {}: {reason}", resource.id);
            false
        }
    }
}

fn check_postgres(resource: &relay_config::Resource) -> Result<DatabaseHealth, String> {
    let tls = database_tls(resource).map_err(|err| err.to_string())?;
    let pool = OffThreadDrop::new(build_pool(resource, tls));
    let timeout = Duration::from_secs(resource.connection.connect_timeout_seconds.max(5));
    let (mut found, update) = health::check(&pool, timeout, None)?;
    if let CatalogUpdate::Changed(_, snapshot) = update {
        found.notes = health::function_notes(&snapshot);
    }
    Ok(found)
}

fn check_mongodb(resource: &relay_config::Resource) -> Result<DatabaseHealth, String> {
    let backend = MongoBackend::new(Arc::new(resource.clone()));
    let system = actix::System::new();
    system.block_on(backend.check_health())
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
    let tls = match connect::tls_config(config.control_plane.ca_file.as_deref()) {
        Ok(tls) => tls,
        Err(err) => {
            println!("control plane {url}: {err}");
            return false;
        }
    };
    let request =
        connect::websocket_request(&config.control_plane, tls).set_header(PROBE_HEADER, "1");
    let system = actix::System::new();
    let outcome = system.block_on(async move {
        match actix_rt::time::timeout(connect::CONNECT_TIMEOUT, request.connect()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(match classify(&err) {
                ConnectFailure::Rejected { status } => {
                    format!("credentials rejected (HTTP {status}): check the relay token and tenant id")
                }
                ConnectFailure::Transient(reason) => reason,
            }),
            Err(_) => Err("connection attempt timed out".to_owned()),
        }
    });
    match outcome {
        Ok(()) => {
            println!("control plane {url}: ok");
            true
        }
        Err(reason) => {
            println!("control plane {url}: {reason}");
            false
        }
    }
}
