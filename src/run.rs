//! `relay run`: load the configuration, start the actor system, serve until SIGTERM or SIGINT.
//! SIGHUP, or a change to the configuration file or the token file, reloads the configuration
//! (see `relay_actors::supervisor` and [`relay::config_watch`]).

use crate::{metrics_server, EXIT_USAGE};
use actix::Addr;
use actix::{Actor, System};
use relay::config_watch::{ConfigWatch, WATCH_INTERVAL};
use relay::logging;
use relay_actors::local_state::{self, FileLock};
use relay_actors::log_event::LogEvent;
use relay_actors::messages::Shutdown;
use relay_actors::reload_messages::{ReloadConfig, ReloadTrigger};
use relay_actors::Supervisor;
use relay_config::{Config, ConfigError};
use slog::{debug, error, info, warn, Logger};
use std::path::Path;
use std::process::ExitCode;

/// Runs the relay; returns 0 after a clean shutdown.
pub fn run(config_path: &Path) -> ExitCode {
    let level = logging::level_from_env();
    let (log, guard) = logging::stdout_logger(*level.as_ref().unwrap_or(&slog::Level::Info));
    logging::log_panics(log.clone());
    info!(log, "{}", LogEvent::RelayStarting; "version" => env!("CARGO_PKG_VERSION"));
    let code = match level {
        Err(problem) => {
            error!(log, "{}", LogEvent::InvalidLogLevel; "variable" => logging::LEVEL_VARIABLE, "problem" => problem.to_string());
            ExitCode::from(EXIT_USAGE)
        }
        Ok(_) => load_and_serve(config_path, &log),
    };
    drop(log);
    drop(guard);
    code
}

fn load_and_serve(config_path: &Path, log: &Logger) -> ExitCode {
    debug!(log, "{}", LogEvent::ReadingConfiguration; "file" => config_path.display().to_string());
    match Config::load(config_path) {
        Ok(config) => serve(config, config_path, log),
        Err(err) => {
            log_config_error(log, &err);
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn log_config_error(log: &Logger, err: &ConfigError) {
    match err {
        ConfigError::Invalid { origin, problems } => {
            for problem in problems {
                error!(log, "{}", LogEvent::InvalidConfiguration; "file" => origin.clone(), "key" => problem.path.clone(),
                    "problem" => problem.message.clone());
            }
        }
        other => error!(log, "{}", LogEvent::CannotReadConfiguration; "error" => other.to_string()),
    }
}

/// A second relay on the same spool refuses to start: they would send each other's records.
fn spool_in_use(config: &Config) -> Option<String> {
    if !config.audit.enabled || !config.audit.control_plane {
        return None;
    }
    let tenant = &config.control_plane.tenant_id;
    let spool = local_state::spool_path(config.audit.spool_path.as_deref(), tenant);
    let busy = FileLock::held_by_other(&spool.path)?;
    Some(format!(
        "cannot open audit spool {}: {busy}; give each relay its own audit.spoolPath \
         (or {})",
        spool.path.display(),
        local_state::INSTANCE_ID_VARIABLE
    ))
}

fn serve(config: Config, config_path: &Path, log: &Logger) -> ExitCode {
    if !config.masking.enabled {
        warn!(log, "{}", LogEvent::MaskingIsDisabledByConfiguration);
    }
    if !config.audit.enabled {
        warn!(log, "{}", LogEvent::AuditIsDisabledByConfiguration);
    }
    if let Some(reason) = spool_in_use(&config) {
        error!(log, "{}", LogEvent::CannotStartRelay; "error" => reason);
        return ExitCode::from(EXIT_USAGE);
    }
    // The file was just read whole; a failure to read it again only leaves the digest empty.
    let digest = std::fs::read(config_path)
        .map(|bytes| relay_actors::audit::chain::sha256_hex(&bytes))
        .unwrap_or_default();
    let source = config_path.display().to_string();
    let tenant = config.control_plane.tenant_id.clone();
    let status_path = local_state::status_path(&tenant);
    let metrics_listen = config.metrics.clone();
    let token_file = config.control_plane.token_file.clone();
    debug!(log, "{}", LogEvent::LocalState; "instanceDir" => local_state::instance_dir(&tenant).display().to_string(),
        "statusFile" => status_path.path.display().to_string(), "resources" => config.resources.len());
    let supervisor = match Supervisor::new(config, log.clone()) {
        Ok(supervisor) => supervisor
            .with_config_source(source, digest)
            .with_status_file(status_path),
        Err(err) => {
            error!(log, "{}", LogEvent::CannotStartRelay; "error" => err.to_string());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let system = System::new();
    let metrics = match system.block_on(async { start_metrics(&metrics_listen, &supervisor, log) })
    {
        Ok(metrics) => metrics,
        Err(err) => {
            error!(log, "{}", LogEvent::CannotStartRelay; "error" => err.to_string());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let signal_log = log.clone();
    let watch = ConfigWatch::new(config_path.to_path_buf(), token_file);
    let outcome = system.block_on(async move {
        let supervisor = supervisor.start();
        let signal = wait_for_signal(&supervisor, watch, &signal_log).await;
        signal.map(|name| (name, supervisor))
    });
    match outcome {
        Ok((signal, supervisor)) => {
            info!(log, "{}", LogEvent::ShutdownRequested; "signal" => signal);
            if let Some(metrics) = metrics {
                system.block_on(metrics.stop(false));
            }
            let stopped = system.block_on(supervisor.send(Shutdown));
            if stopped.is_err() {
                warn!(log, "{}", LogEvent::SupervisorWasGoneAtShutdown);
            }
            info!(log, "{}", LogEvent::RelayStopped);
            ExitCode::SUCCESS
        }
        Err(err) => {
            error!(log, "{}", LogEvent::CannotListenForSignals; "error" => err.to_string());
            ExitCode::FAILURE
        }
    }
}

/// Starts the metrics endpoint when `metrics` is configured; must run inside the actix system.
fn start_metrics(
    metrics: &Option<relay_config::Metrics>,
    supervisor: &Supervisor,
    log: &Logger,
) -> Result<Option<actix_web::dev::ServerHandle>, metrics_server::BindError> {
    let Some(metrics) = metrics else {
        return Ok(None);
    };
    let (server, handle) = metrics_server::bind(metrics.listen, supervisor.metrics())?;
    actix_rt::spawn(server);
    info!(log, "{}", LogEvent::MetricsEndpointListening; "addr" => metrics.listen.to_string(),
        "path" => "/metrics", "reachableFromNetwork" => metrics.reachable_from_network());
    Ok(Some(handle))
}

/// Waits for SIGTERM or SIGINT. SIGHUP, and a change the watch sees, reload the configuration.
async fn wait_for_signal(
    supervisor: &Addr<Supervisor>,
    mut watch: ConfigWatch,
    log: &Logger,
) -> std::io::Result<&'static str> {
    use actix_rt::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut look = actix_rt::time::interval(WATCH_INTERVAL);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let trigger = tokio::select! {
            _ = terminate.recv() => return Ok("SIGTERM"),
            _ = interrupt.recv() => return Ok("SIGINT"),
            _ = hangup.recv() => {
                // The reload reads whatever changed so far: not again at the next look.
                watch.changed();
                ReloadTrigger::Signal
            }
            _ = look.tick() => match watch.changed() {
                true => ReloadTrigger::FileChanged,
                false => continue,
            },
        };
        debug!(log, "{}", LogEvent::ReloadingConfiguration; "trigger" => trigger.as_str());
        match supervisor.send(ReloadConfig { trigger }).await {
            Ok(outcome) => watch.settle(outcome.token_file),
            Err(_) => warn!(log, "{}", LogEvent::SupervisorWasGoneAtReload),
        }
    }
}
