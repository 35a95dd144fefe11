//! `relay run`: load the configuration, start the actor system, serve until SIGTERM or SIGINT.

use crate::EXIT_USAGE;
use actix::{Actor, System};
use relay::logging;
use relay_actors::messages::Shutdown;
use relay_actors::Supervisor;
use relay_config::{Config, ConfigError};
use slog::{error, info, warn, Logger};
use std::path::Path;
use std::process::ExitCode;

/// Runs the relay; returns 0 after a clean shutdown.
pub fn run(config_path: &Path) -> ExitCode {
    let (log, guard) = logging::stdout_logger(logging::level_from_env());
    logging::log_panics(log.clone());
    info!(log, "Relay starting"; "version" => env!("CARGO_PKG_VERSION"));
    let code = match Config::load(config_path) {
        Ok(config) => serve(config, config_path, &log),
        Err(err) => {
            log_config_error(&log, &err);
            ExitCode::from(EXIT_USAGE)
        }
    };
    drop(log);
    drop(guard);
    code
}

fn log_config_error(log: &Logger, err: &ConfigError) {
    match err {
        ConfigError::Invalid { origin, problems } => {
            for problem in problems {
                error!(log, "Invalid configuration"; "file" => origin.clone(), "key" => problem.path.clone(),
                    "problem" => problem.message.clone());
            }
        }
        other => error!(log, "Cannot read configuration"; "error" => other.to_string()),
    }
}

fn serve(config: Config, config_path: &Path, log: &Logger) -> ExitCode {
    if !config.masking.enabled {
        warn!(
            log,
            "Masking is disabled by configuration: values leave the relay unmasked"
        );
    }
    if !config.audit.enabled {
        warn!(
            log,
            "Audit is disabled by configuration: operations are not recorded"
        );
    }
    // The file was just read whole; a failure to read it again only leaves the digest empty.
    let digest = std::fs::read(config_path)
        .map(|bytes| relay_actors::audit::chain::sha256_hex(&bytes))
        .unwrap_or_default();
    let source = config_path.display().to_string();
    let supervisor = match Supervisor::new(config, log.clone()) {
        Ok(supervisor) => supervisor
            .with_config_source(source, digest)
            .with_status_file(relay_actors::status_file::path_from_env()),
        Err(err) => {
            error!(log, "Cannot start relay"; "error" => err.to_string());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let system = System::new();
    let outcome = system.block_on(async move {
        let supervisor = supervisor.start();
        let signal = wait_for_signal().await;
        signal.map(|name| (name, supervisor))
    });
    match outcome {
        Ok((signal, supervisor)) => {
            info!(log, "Shutdown requested"; "signal" => signal);
            let stopped = system.block_on(supervisor.send(Shutdown));
            if stopped.is_err() {
                warn!(log, "Supervisor was gone at shutdown");
            }
            info!(log, "Relay stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            error!(log, "Cannot listen for signals"; "error" => err.to_string());
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() -> std::io::Result<&'static str> {
    use actix_rt::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => Ok("SIGTERM"),
        _ = interrupt.recv() => Ok("SIGINT"),
    }
}
