//! `relay audit verify [FILE]`: checks a saved audit chain — the relay's raw stdout, the audit
//! lines alone, an `audit.file`, or the dev control plane's store — and names the first broken
//! record. Exit 0 only for an intact chain.

use crate::EXIT_USAGE;
use relay_audit_chain::{verify, Verdict};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

/// Exit code for a broken chain (or input with no audit record at all).
pub const EXIT_BROKEN: u8 = 1;

/// Verifies `file` (`-` or none: stdin) and prints the verdict.
pub fn verify_command(file: Option<&Path>) -> ExitCode {
    let (name, reader): (String, Box<dyn Read>) = match file {
        None => ("stdin".into(), Box::new(std::io::stdin())),
        Some(path) if path == Path::new("-") => ("stdin".into(), Box::new(std::io::stdin())),
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => (path.display().to_string(), Box::new(file)),
            Err(err) => {
                eprintln!("cannot read {}: {err}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
    };
    let mut lines = Vec::new();
    for line in BufReader::new(reader).lines() {
        match line {
            Ok(line) => lines.push(line),
            Err(err) => {
                eprintln!("cannot read {name}: {err}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    match verify(&lines) {
        Verdict::Intact { records: 0, .. } => {
            println!("{name}: no audit records found");
            ExitCode::from(EXIT_BROKEN)
        }
        Verdict::Intact { records, chains } => {
            println!("{name}: audit chain intact: {records} record(s) in {chains} chain(s)");
            ExitCode::SUCCESS
        }
        Verdict::Broken {
            line,
            chain,
            seq,
            reason,
        } => {
            println!(
                "{name}: audit chain broken at seq {seq} (chain {chain}, line {line}): {reason}"
            );
            ExitCode::from(EXIT_BROKEN)
        }
    }
}
