//! The tables of the `operations` section: throughput and latency beside PostgreSQL direct, what
//! one operation costs in CPU measured against the database's own work, and the relay's memory.

use crate::backends::BackendCpu;
use crate::operations::{Scale, IN_FLIGHT};
use crate::process::Usage;
use crate::relaybench::{self, Dataset};
use crate::report::{mib, Section};
use crate::workloads::Workload;
use std::time::Duration;

/// Throughput and latency of one measured run.
pub struct Stats {
    pub ops_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub operations: usize,
}

/// One operation at one in-flight level, through the relay and directly.
pub struct Compared {
    pub workload: Workload,
    pub in_flight: usize,
    pub relay: Stats,
    pub direct: Stats,
    pub relay_cpu_seconds: f64,
    /// The relay's peak RSS during this run alone, KiB (None when its peak could not be reset).
    pub relay_peak_kib: Option<u64>,
    pub relay_backends: BackendCpu,
    /// The direct client's own CPU (the suite's process).
    pub direct_cpu_seconds: f64,
    pub direct_backends: BackendCpu,
}

impl Compared {
    fn ratio(&self) -> f64 {
        self.relay.ops_per_second / self.direct.ops_per_second.max(1e-9)
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

pub fn comparison_table(dataset: &Dataset, scale: &Scale, compared: &[Compared]) -> Section {
    let mut section = Section::new(
        format!(
            "Relay vs PostgreSQL direct ({} customers, {} orders; direct: 5 connections)",
            dataset.customers, dataset.orders
        ),
        &[
            "Operation",
            "In flight",
            "Relay ops/s",
            "Relay p50 / p99 ms",
            "Direct ops/s",
            "Direct p50 / p99 ms",
            "Relay ÷ direct",
            "Target",
            "Relay CPU s / 1000 ops",
        ],
    );
    for row in compared {
        let target = if row.in_flight == 20 {
            throughput_target(row)
        } else {
            String::new()
        };
        section.row([
            row.workload.label().to_owned(),
            row.in_flight.to_string(),
            format!("{:.0}", row.relay.ops_per_second),
            format!("{} / {}", millis(row.relay.p50), millis(row.relay.p99)),
            format!("{:.0}", row.direct.ops_per_second),
            format!("{} / {}", millis(row.direct.p50), millis(row.direct.p99)),
            format!("{:.2}x", row.ratio()),
            target,
            format!(
                "{:.3}",
                row.relay_cpu_seconds / row.relay.operations.max(1) as f64 * 1000.0
            ),
        ]);
    }
    section.note(format!(
        "Each cell is a {} s closed-loop run: the load client keeps N requests in flight over the \
         relay's WebSocket (protocol v1, audit records acknowledged), the direct client runs N \
         threads sharing 5 connections with each statement prepared once per connection. Both \
         read as the read-only role `{}`; the relay masks with the seed's patterns and every \
         built-in. Ratios compare operations per second measured one right after the other.",
        scale.run.as_secs_f64(),
        relaybench::READER
    ));
    section
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The relay ÷ direct target and, where measured, the rival tools' ops/s, with whether each is met.
fn throughput_target(row: &Compared) -> String {
    let goal = row.workload.target();
    let mut text = format!(">= {goal:.2}x: {}", met(row.ratio() >= goal));
    if let Some(rival) = row.workload.rival_ops_per_second() {
        let beaten = row.relay.ops_per_second > rival;
        text.push_str(&format!("; > {rival:.0} ops/s: {}", met(beaten)));
    }
    text
}

/// The CPU target against the relay's backends, with whether it is met, at 20 in flight.
fn cpu_target(row: &Compared, relay: f64, relay_db: Option<f64>) -> String {
    match (row.in_flight == 20, row.workload.cpu_target(), relay_db) {
        (true, Some(goal), Some(db)) if db > 0.0 => {
            format!("<= {goal:.1}x: {}", met(relay / db <= goal))
        }
        (true, Some(goal), _) => format!("<= {goal:.1}x: n/a"),
        _ => String::new(),
    }
}

/// CPU seconds per 1000 operations.
fn per_1000(seconds: f64, operations: usize) -> f64 {
    seconds / operations.max(1) as f64 * 1000.0
}

fn ratio_of(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match numerator.zip(denominator) {
        Some((n, d)) if d > 0.0 => format!("{:.2}x", n / d),
        _ => "n/a".into(),
    }
}

fn cell(seconds_per_1000: Option<f64>) -> String {
    seconds_per_1000.map_or("n/a".into(), |s| format!("{s:.3}"))
}

/// Backends that started or exited during the run, when any did.
fn replaced(relay: BackendCpu, direct: BackendCpu) -> String {
    let one = |who: &str, cpu: BackendCpu| {
        (cpu.appeared + cpu.vanished > 0)
            .then(|| format!("{who} +{} -{}", cpu.appeared, cpu.vanished))
    };
    [one("relay", relay), one("direct", direct)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn cost_table(compared: &[Compared]) -> Section {
    let mut section = Section::new(
        "CPU per operation against the database's own work (CPU s / 1000 ops)",
        &[
            "Operation",
            "In flight",
            "Relay ÷ direct ops/s",
            "Relay",
            "Relay's backends",
            "Relay ÷ its backends",
            "Target",
            "Direct client",
            "Direct's backends",
            "Direct ÷ its backends",
            "Relay's ÷ direct's backends",
            "Backends replaced",
        ],
    );
    for row in compared {
        let relay = per_1000(row.relay_cpu_seconds, row.relay.operations);
        let relay_db = row
            .relay_backends
            .seconds
            .map(|s| per_1000(s, row.relay.operations));
        let direct = per_1000(row.direct_cpu_seconds, row.direct.operations);
        let direct_db = row
            .direct_backends
            .seconds
            .map(|s| per_1000(s, row.direct.operations));
        section.row([
            row.workload.label().to_owned(),
            row.in_flight.to_string(),
            format!("{:.2}x", row.ratio()),
            format!("{relay:.3}"),
            cell(relay_db),
            ratio_of(Some(relay), relay_db),
            cpu_target(row, relay, relay_db),
            format!("{direct:.3}"),
            cell(direct_db),
            ratio_of(Some(direct), direct_db),
            ratio_of(relay_db, direct_db),
            replaced(row.relay_backends, row.direct_backends),
        ]);
    }
    section.note(
        "Same runs as the table above. CPU is user+system time from /proc/<pid>/stat (1/100 s \
         ticks) sampled before and after each run: of the relay's process; of the suite's own \
         process while only the direct client works; and of the PostgreSQL backends whose \
         application_name is the relay's or the direct client's (pids from pg_stat_activity, \
         each known by pid and start time). \"Relay ÷ its backends\" is the relay's overhead in \
         units of the database work it causes. A backend that started during a run counts with \
         all its CPU; one that exited counts as zero after the first sample (a lower bound; \
         \"Backends replaced\" says +started -exited). n/a: the server's processes are not \
         readable here.",
    );
    section
}

pub fn load_table(idle: Usage, after: Usage, compared: &[Compared]) -> Section {
    let operations: usize = compared.iter().map(|c| c.relay.operations).sum();
    let cpu: f64 = compared.iter().map(|c| c.relay_cpu_seconds).sum();
    let backends = compared
        .iter()
        .map(|c| c.relay_backends)
        .fold(BackendCpu::none_yet(), BackendCpu::plus);
    let heaviest = compared
        .iter()
        .find(|c| c.workload == Workload::Range && c.in_flight == IN_FLIGHT[IN_FLIGHT.len() - 1]);
    let mut section = Section::new("Relay under load", &["Measure", "Relay", "Target"]);
    section.row([
        "RSS before the load (connected, idle)".into(),
        mib(idle.rss_kib),
        "<= 12 MiB".into(),
    ]);
    section.row([
        "Peak RSS at 100 in flight with 1000-row answers (VmHWM of that run alone)".into(),
        match heaviest.map(|c| c.relay_peak_kib) {
            Some(Some(kib)) => mib(kib),
            Some(None) => "n/a (VmHWM could not be reset)".into(),
            None => "not run (range not selected)".into(),
        },
        "<= 48 MiB".into(),
    ]);
    section.row([
        "Peak RSS (VmHWM), all runs incl. 100 in flight with 1000-row results".into(),
        mib(after.peak_kib),
        "<= 48 MiB".into(),
    ]);
    section.row([
        "RSS after the load".into(),
        mib(after.rss_kib),
        String::new(),
    ]);
    section.row([
        "CPU per 1000 operations, all runs".into(),
        format!(
            "{:.3} s ({operations} operations)",
            per_1000(cpu, operations)
        ),
        String::new(),
    ]);
    section.row([
        "Its backends' CPU per 1000 operations, all runs".into(),
        backends.seconds.map_or("n/a".into(), |s| {
            format!("{:.3} s", per_1000(s, operations))
        }),
        String::new(),
    ]);
    section
}
