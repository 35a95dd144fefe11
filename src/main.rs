//! `relay`: the database relay's command line — `run` (default), `check`, `audit verify`, `version`.
#![forbid(unsafe_code)]

mod audit_verify;
mod check;
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
        Command::Version => {
            println!("relay {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}
