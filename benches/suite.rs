//! The relay's benchmark suite: one command that measures the relay beside the baselines it is
//! compared with, in the same run, and prints a Markdown table of ratios.
//!
//! `cargo bench --bench suite [-- [--smoke] [SECTION...]]`; sections: `operations`, `masking`,
//! `policy`, `footprint`.

#[path = "suite/backends.rs"]
mod backends;
#[path = "suite/controlplane.rs"]
mod controlplane;
#[path = "suite/dataset.rs"]
mod dataset;
#[path = "suite/direct.rs"]
mod direct;
#[path = "suite/footprint.rs"]
mod footprint;
#[path = "suite/masking.rs"]
mod masking;
#[path = "suite/operations.rs"]
mod operations;
#[path = "suite/operations_report.rs"]
mod operations_report;
#[path = "suite/policy.rs"]
mod policy;
#[path = "suite/process.rs"]
mod process;
#[path = "suite/relaybench.rs"]
mod relaybench;
#[path = "suite/report.rs"]
mod report;
#[path = "suite/workloads.rs"]
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

const SECTIONS: &[&str] = &["operations", "masking", "policy", "footprint"];

struct Options {
    smoke: bool,
    sections: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        smoke: false,
        sections: Vec::new(),
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            // `cargo bench` passes this to every bench target.
            "--bench" => {}
            "--smoke" => options.smoke = true,
            name if SECTIONS.contains(&name) => options.sections.push(name.to_owned()),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; sections: {SECTIONS:?}, flag: --smoke"
                ))
            }
        }
    }
    if options.sections.is_empty() {
        options.sections = SECTIONS.iter().map(|s| (*s).to_owned()).collect();
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut sections = Vec::new();
    for name in &options.sections {
        eprintln!(
            "running the {name} benchmark{}",
            if options.smoke { " (smoke)" } else { "" }
        );
        let produced = match name.as_str() {
            "operations" if options.smoke => operations::run(&operations::SMOKE),
            "operations" => operations::run(&operations::FULL),
            "masking" if options.smoke => masking::run(2_000, 1).map(|s| vec![s]),
            "masking" => masking::run(100_000, 5).map(|s| vec![s]),
            "policy" if options.smoke => policy::run(100).map(|s| vec![s]),
            "policy" => policy::run(20_000).map(|s| vec![s]),
            "footprint" if options.smoke => {
                footprint::run(std::time::Duration::from_secs(2)).map(|s| vec![s])
            }
            "footprint" => footprint::run(std::time::Duration::from_secs(30)).map(|s| vec![s]),
            _ => Err(format!("no benchmark named {name}")),
        };
        match produced {
            Ok(produced) => sections.extend(produced),
            Err(message) => {
                eprintln!("the {name} benchmark failed: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let measured = process::relay_override()
        .map(|path| format!(", measuring {}", path.display()))
        .unwrap_or_default();
    let header = format!(
        "Relay {} on {} cores{}{measured}.",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if options.smoke {
            ", smoke mode (numbers are not meaningful)"
        } else {
            ""
        }
    );
    let text = report::render(&header, &sections);
    print!("{text}");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench/report.md");
    if let Err(err) = report::save(&text, &path) {
        eprintln!("could not write {}: {err}", path.display());
        return ExitCode::FAILURE;
    }
    eprintln!("report written to {}", path.display());
    ExitCode::SUCCESS
}
