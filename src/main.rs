//! `relay`: the database relay's command line — `run` (default), `check`, `healthcheck`,
//! `audit verify`, `version`.
#![forbid(unsafe_code)]

mod audit_verify;
mod check;
mod metrics_server;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for bad usage or configuration, returned before any socket opens.
pub use relay::EXIT_USAGE;

/// Exit code when `check --connect` cannot reach a database or the control plane (EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;

#[derive(Parser, Debug)]
#[command(
    name = "relay",
    version,
    about = "Read-only, masked, audited database access for a remote control plane"
)]
struct Cli {
    /// Configuration file [default: $RELAY_CONFIG, else /app/relay-config.yaml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Connect to the control plane and serve requests (the default)
    Run,
    /// Validate the configuration and print every problem
    Check {
        /// Also try each database and the control plane
        #[arg(long)]
        connect: bool,
    },
    /// Print the relay's version
    Version,
    /// Exit 0 when the running relay's status file is fresh (a liveness probe without ports)
    Healthcheck {
        /// Also require a connection to the control plane (a readiness probe)
        #[arg(long)]
        ready: bool,
        /// Seconds after which the status file counts as stale
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        max_age: u64,
        /// The status file [default: $RELAY_STATUS_FILE, else the only relay's in /tmp/relay/*/]
        #[arg(long, value_name = "FILE")]
        status_file: Option<PathBuf>,
    },
    /// Work with saved audit records
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check a saved audit chain (the relay's stdout, audit lines, or an audit file) and report
    /// the first broken record; exit 0 only for an intact chain
    Verify {
        /// The file to check; `-` or nothing reads stdin
        file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Before any thread starts: glibc's arenas are bounded for the whole run.
    relay_allocator::bound_arenas();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return relay::usage_exit(&err),
    };
    let config_path = relay_config::resolve_config_path(cli.config.as_deref());
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run::run(&config_path),
        Command::Check { connect } => check::check(&config_path, connect),
        Command::Audit {
            command: AuditCommand::Verify { file },
        } => audit_verify::verify_command(file.as_deref()),
        Command::Healthcheck {
            ready,
            max_age,
            status_file,
        } => healthcheck(ready, max_age, status_file),
        Command::Version => {
            println!("relay {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}

/// `relay healthcheck`: judges the status file the running relay keeps; prints one line. The
/// file is `--status-file`, else `RELAY_STATUS_FILE`, else found in the instance directories.
fn healthcheck(ready: bool, max_age: u64, status_file: Option<PathBuf>) -> ExitCode {
    use relay_actors::local_state::status_file_from_env;
    use relay_actors::status_file::find_status_file;
    use relay_actors::status_file::{check, Probe};
    let max_age = std::time::Duration::from_secs(max_age);
    let probe = if ready { Probe::Ready } else { Probe::Live };
    let path = status_file
        .or_else(status_file_from_env)
        .map_or_else(|| find_status_file(max_age), Ok);
    match path.and_then(|path| check(&path, probe, max_age)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            println!("unhealthy: {problem}");
            ExitCode::FAILURE
        }
    }
}
