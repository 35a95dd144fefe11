//! The relay binaries' shared parts: JSON logging and the development control plane's library.
//!
//! - `relay` (`src/main.rs`): the relay itself — `run`, `check`, `version`.
//! - `relay-devplane` (`src/bin/relay-devplane/`): a small control plane for demos, tests and
//!   benchmarks, built on [`devplane`].
//!
//! The actor system lives in the `relay-actors` crate, configuration in `relay-config`.
#![forbid(unsafe_code)]

pub mod config_watch;
pub mod devplane;
pub mod logging;

/// Exit code for bad usage or configuration (sysexits EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

/// Prints a command-line parse error and turns it into an exit code: 0 for `--help`/`--version`,
/// [`EXIT_USAGE`] for anything else.
pub fn usage_exit(err: &clap::Error) -> std::process::ExitCode {
    let _ = err.print();
    match err.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            std::process::ExitCode::SUCCESS
        }
        _ => std::process::ExitCode::from(EXIT_USAGE),
    }
}
